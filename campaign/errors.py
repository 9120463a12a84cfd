"""Friendly error pages in the reader's language."""

from __future__ import annotations

from flask import Flask, current_app, g, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import NotFound

from campaign.extensions import db
from campaign.i18n import best_language, negotiated_redirect


def _unprefixed_redirect():
    """`/c/aleppo` → `/en/c/aleppo`: paths without a language go to the reader's language."""
    first = request.path.lstrip("/").split("/", 1)[0]
    if first in current_app.config["LANGUAGES"] or request.method != "GET":
        return None
    target = f"/{best_language()}{request.path}"
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(target, method="GET")
    except Exception:
        return None
    query = request.query_string.decode()
    return negotiated_redirect(target + (f"?{query}" if query else ""))


def _error_language() -> str:
    """The language for an error page: the URL's prefix when it names one, else the reader's."""
    first = request.path.lstrip("/").split("/", 1)[0]
    return first if first in current_app.config["LANGUAGES"] else best_language()


def init_app(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(error: NotFound):
        redirect_response = _unprefixed_redirect()
        if redirect_response is not None:
            return redirect_response
        g.setdefault("lang", _error_language())
        return render_template("errors/404.html"), 404

    @app.errorhandler(403)
    def forbidden(error):
        g.setdefault("lang", _error_language())
        if request.blueprint == "admin":
            return render_template("admin/forbidden.html"), 403
        return render_template("errors/403.html"), 403

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        g.setdefault("lang", _error_language())
        return render_template("errors/csrf.html"), 400

    @app.errorhandler(413)
    def too_large(error):
        g.setdefault("lang", _error_language())
        return render_template("errors/413.html"), 413

    @app.errorhandler(429)
    def rate_limited(error):
        g.setdefault("lang", _error_language())
        return render_template("errors/429.html"), 429

    @app.errorhandler(500)
    def server_error(error):
        # The failure may have broken the session's transaction; the page must still render
        # (and nothing half-done may be committed later).
        db.session.rollback()
        g.setdefault("lang", _error_language())
        return render_template("errors/500.html"), 500
