"""HTTP headers that make every page harder to abuse: a Content Security Policy with no inline
script, no MIME sniffing, a strict referrer, no framing by other sites (except the views marked
`frameable`, such as the embeddable widget), and HSTS behind TLS."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, Response, current_app, request

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

View = TypeVar("View", bound=Callable)


def frameable(view: View) -> View:
    """Let any site show this view in an iframe (the embeddable widget): its responses get
    `frame-ancestors *` and no X-Frame-Options. Every other page stays unframeable, which is
    what keeps a sign or login form from being clickjacked; a frameable view must have no form.
    """
    view.is_frameable = True  # type: ignore[attr-defined]
    return view


def _is_frameable() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "is_frameable", False))


def _allow_framing(policy: str) -> str:
    directives = [d.strip() for d in policy.split(";") if d.strip()]
    kept = [d for d in directives if not d.startswith("frame-ancestors")]
    return "; ".join([*kept, "frame-ancestors *"])


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        headers = response.headers
        framed = _is_frameable()
        policy = headers.get("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers["Content-Security-Policy"] = _allow_framing(policy) if framed else policy
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if framed:
            headers.pop("X-Frame-Options", None)
        else:
            headers.setdefault("X-Frame-Options", "DENY")
        # Only over TLS (as the proxy reports it with TRUSTED_PROXIES): a browser that learned
        # HSTS from a plain-HTTP development server would refuse it afterwards.
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
