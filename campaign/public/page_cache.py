"""A few seconds' cache of the petition page as anonymous readers see it, and its validators.

A surge is mostly first-time readers asking for the same page. Rendering it costs far more than
anything else a request does, so each process keeps what it rendered for `PAGE_CACHE_SECONDS`
per (campaign, language, query, preselected country, remembered place). The counts on it may lag
by that much; anything personal to a reader (supports, flags, a proved mailbox, flashed
messages) makes the page uncacheable.

What must differ per reader inside an otherwise shared page (the CSRF token bound to the reader's
session, the signed time a form was shown) is registered as a *fresh value*: it is cut out of
the stored copy and put back, newly made, into each response.

The response also carries an ETag over the shared copy and the reader's session token, so a
browser coming back within `max-age` uses its copy, then revalidates cheaply (304) while
`stale-while-revalidate` lets it show the old one meanwhile. `private`: the page holds a token
bound to this reader's session, so no shared cache may hand it to someone else.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from flask import Response, current_app, request, session
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

# name -> function giving this request's value (the same value every time it is asked within
# one request: the page and the cache must agree).
_FRESH: dict[str, Callable[[], str]] = {"csrf": generate_csrf}
STALE_WHILE_REVALIDATE = 60
MAX_ENTRIES = 512


def register_fresh(name: str, value: Callable[[], str]) -> None:
    """Declare a per-request value that may appear in cached pages (see the module's doc)."""
    _FRESH[name] = value


@dataclass(frozen=True)
class Entry:
    body: str  # with each fresh value replaced by its marker
    digest: str  # of `body`: the same page rendered again keeps its validator
    expires: float


class PageCache:
    """Rendered pages by key, each kept for `seconds`; the least recently used go first."""

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Entry | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= now:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple, body: str) -> Entry:
        entry = Entry(
            body=body,
            digest=hashlib.blake2b(body.encode(), digest_size=12).hexdigest(),
            expires=time.monotonic() + self.seconds,
        )
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def init_app(app) -> None:
    app.extensions["page_cache"] = PageCache(app.config["PAGE_CACHE_SECONDS"])


def _cache() -> PageCache:
    return current_app.extensions["page_cache"]


def _marker(name: str) -> str:
    # NUL never occurs in a rendered page: the form fields refuse it.
    return f"\x00{name}\x00"


def is_shared_view(personal: Callable[[], bool]) -> bool:
    """Whether this request may get (and fill) the shared copy: a GET by nobody in particular."""
    if current_app.config["PAGE_CACHE_SECONDS"] <= 0 or request.method != "GET":
        return False
    if "_flashes" in session or current_user.is_authenticated:
        return False
    return not personal()


def serve(key: tuple, render: Callable[[], str | tuple[str, int]], personal: Callable[[], bool]):
    """Answer with the shared copy of this page when the reader may have it, else `render()`
    it (and keep it for the next readers when it is a plain 200)."""
    shared = is_shared_view(personal)
    key = (request.endpoint, request.query_string, *key)
    if shared and (response := cached_response(key)) is not None:
        return response
    result = render()
    html, status = result if isinstance(result, tuple) else (result, 200)
    if shared and status == 200:
        return store(key, html).make_conditional(request)
    return html, status


def cached_response(key: tuple) -> Response | None:
    """The shared copy for `key` with this reader's fresh values, a 304, or None on a miss."""
    entry = _cache().get(key)
    if entry is None:
        return None
    if _etag(entry) in request.if_none_match:
        return _validated(Response(status=304), entry)
    body = entry.body
    for name, value in _FRESH.items():
        marker = _marker(name)
        if marker in body:
            body = body.replace(marker, value())
    return _validated(Response(body, mimetype="text/html"), entry)


def store(key: tuple, html: str) -> Response:
    """Keep the page just rendered for this request and answer it, with its validators."""
    shared = html
    for name, value in _FRESH.items():
        shared = shared.replace(value(), _marker(name))
    entry = _cache().put(key, shared)
    return _validated(Response(html, mimetype="text/html"), entry)


def _etag(entry: Entry) -> str:
    # The reader's copy holds their session's token: another session's must not validate it.
    token = str(session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), ""))
    return hashlib.blake2b(f"{entry.digest}:{token}".encode(), digest_size=12).hexdigest()


def _validated(response: Response, entry: Entry) -> Response:
    response.set_etag(_etag(entry))
    seconds = max(1, int(_cache().seconds))
    response.headers["Cache-Control"] = (
        f"private, max-age={seconds}, stale-while-revalidate={STALE_WHILE_REVALIDATE}"
    )
    response.vary.update(("Cookie", "Accept-Language"))
    return response
