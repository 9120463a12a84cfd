"""HTTP headers that make every page harder to abuse: a Content Security Policy with no inline
script, no MIME sniffing, a strict referrer, no framing by other sites, and HSTS behind TLS."""

from __future__ import annotations

from flask import Flask, Response, request

# What the pages load: our own scripts and styles (style attributes draw the progress bars),
# map tiles from OpenStreetMap (the rallies map) and its embedded map of a meeting point.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https://tile.openstreetmap.org",
        "frame-src https://www.openstreetmap.org",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        # Only over TLS (as the proxy reports it with TRUSTED_PROXIES): a browser that learned
        # HSTS from a plain-HTTP development server would refuse it afterwards.
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
