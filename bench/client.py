"""A small HTTP/1.1 client: one keep-alive connection, and one browser's cookies at a time.

The standard library's `http.client` is enough here and costs less CPU per request than a
full-featured client, which matters when the load generator shares two cores with the server.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

# Flask-WTF renders `<input id="csrf_token" name="csrf_token" type="hidden" value="...">`;
# every form of a page carries the same token, so the first one is the one we want.
_CSRF = re.compile(rb'name="csrf_token" type="hidden" value="([^"]+)"')

# Failures of a connection the server closed while it was idle (gunicorn's keep-alive timeout):
# a browser opens a new connection and sends the request again, and so do we.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def csrf_token(self) -> str:
        """The CSRF token of the page's forms; '' if there is none."""
        match = _CSRF.search(self.body)
        return match.group(1).decode() if match else ""


@dataclass
class Client:
    """One simulated browser tab: a persistent connection plus a cookie jar we can empty."""

    host: str
    port: int
    timeout: float = 10.0
    cookies: dict[str, str] = field(default_factory=dict)
    _conn: http.client.HTTPConnection | None = None

    def new_visitor(self) -> None:
        """Forget the cookies: the next request comes from someone who never visited."""
        self.cookies.clear()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str]) -> Response:
        body = urlencode(fields).encode()
        return self.request(
            "POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"}
        )

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None
    ) -> Response:
        """Send one request; retry once on a fresh connection if the old one had gone stale."""
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        reused = self._conn is not None
        try:
            return self._send(method, path, body, headers)
        except _STALE:
            self.close()
            if not reused:
                raise
            return self._send(method, path, body, headers)
        except Exception:
            self.close()
            raise

    def stream(self, path: str, chunk_size: int = 1 << 16):
        """GET `path` and yield its body in pieces, for downloads too big to hold."""
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        conn = self._connection()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        if response.status != 200:
            body = response.read()
            self.close()
            raise RuntimeError(f"GET {path} answered {response.status}: {body[:200]!r}")
        while piece := response.read(chunk_size):
            yield piece
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def _send(self, method: str, path: str, body: bytes | None, headers: dict) -> Response:
        conn = self._connection()
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        self._keep_cookies(response.headers.get_all("Set-Cookie") or [])
        if response.will_close:
            self.close()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def _keep_cookies(self, set_cookies: list[str]) -> None:
        # Name and value only: the bench talks to one host over plain HTTP, so the Secure flag
        # production sets on the session cookie is honoured by not caring about it.
        for header in set_cookies:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value:
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
