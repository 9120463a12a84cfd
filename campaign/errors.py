"""Friendly error pages in the reader's language."""

from __future__ import annotations

import logging
import math
import sqlite3
import time
from datetime import timedelta

from flask import Flask, current_app, g, make_response, render_template, request
from flask_babel import format_timedelta
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import NotFound

from campaign.extensions import db, limiter
from campaign.i18n import best_language, negotiated_redirect

log = logging.getLogger(__name__)

# Seconds a reader (or a crawler, or a load balancer) is asked to wait when the database is away.
DATABASE_RETRY_AFTER = 30
# What SQLite says when its file is gone, unreadable or busy beyond the busy timeout.
_SQLITE_UNAVAILABLE = ("unable to open database", "database is locked", "disk i/o error")


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached now (down, restarting, its file
    unreadable, the pool exhausted), rather than that a query or the data is wrong."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    if isinstance(original, sqlite3.OperationalError):
        return any(text in str(original).lower() for text in _SQLITE_UNAVAILABLE)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(original, psycopg.OperationalError | psycopg.InterfaceError)


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


def _retry_after() -> int:
    """Seconds until the limit that refused this request lets it through again (a minute if
    the limiter does not say)."""
    current = limiter.current_limit
    if current is None or not current.breached:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _api_error(error):
    """The JSON answer for an error under /api/ (programs cannot read pages), else None."""
    # Imported here: the API package loads its views, which create_app imports later.
    from campaign.api.errors import http_error_response, is_api_request

    return http_error_response(error) if is_api_request() else None


def _error_language() -> str:
    """The language for an error page: the URL's prefix when it names one, else the reader's."""
    first = request.path.lstrip("/").split("/", 1)[0]
    return first if first in current_app.config["LANGUAGES"] else best_language()


def init_app(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(error: NotFound):
        if (api_response := _api_error(error)) is not None:
            return api_response
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
        seconds = _retry_after()
        if (api_response := _api_error(error)) is not None:
            api_response.headers.setdefault("Retry-After", str(seconds))
            return api_response
        g.setdefault("lang", _error_language())
        response = make_response(
            render_template(
                "errors/429.html", wait=format_timedelta(timedelta(seconds=seconds), threshold=1)
            ),
            429,
        )
        # Flask-Limiter adds its own Retry-After to responses of limited views; this one also
        # covers a 429 raised elsewhere.
        response.headers.setdefault("Retry-After", str(seconds))
        return response

    @app.errorhandler(400)
    def bad_request(error):
        api_response = _api_error(error)
        return error if api_response is None else api_response

    @app.errorhandler(405)
    def method_not_allowed(error):
        api_response = _api_error(error)
        return error if api_response is None else api_response

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_error(error):
        if not database_unavailable(error):
            raise error  # a real bug: logged, and answered by the 500 page
        log.error("database unavailable on %s %s: %s", request.method, request.path, error)
        try:
            db.session.rollback()
        except Exception:
            log.debug("rolling back after the outage failed too", exc_info=True)
        g.setdefault("lang", _error_language())
        try:
            # The footer's subscribe box would query the database that just failed.
            body = render_template("errors/503.html", hide_footer_subscribe=True)
        except Exception:
            log.exception("could not render the 503 page")
            body = "Service unavailable: please try again in a minute."
        return body, 503, {"Retry-After": str(DATABASE_RETRY_AFTER)}

    @app.errorhandler(500)
    def server_error(error):
        # The failure may have broken the session's transaction; the page must still render
        # (and nothing half-done may be committed later).
        db.session.rollback()
        if (api_response := _api_error(500)) is not None:
            return api_response
        g.setdefault("lang", _error_language())
        return render_template("errors/500.html"), 500
