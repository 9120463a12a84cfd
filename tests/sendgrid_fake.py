"""A real HTTP server on 127.0.0.1 that speaks SendGrid's v3 `POST /v3/mail/send`.

Tests point SENDGRID_API_HOST at it, so the official SDK runs end to end. It records what it
accepted and can be told to fail the next requests (an HTTP status, or a delay for timeouts).
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class SentMail:
    """One message SendGrid accepted, reduced to what tests look at."""

    to: str
    to_name: str
    subject: str
    text: str
    html: str
    custom_args: dict
    message_id: str
    payload: dict = field(repr=False)
    # Extra headers (List-Unsubscribe…): the message's, overridden by the personalization's.
    headers: dict = field(default_factory=dict)

    def links(self) -> list[str]:
        return re.findall(r"https?://[^\s<>\"]+", self.text)


class FakeSendGrid:
    def __init__(self, api_key: str = "SG.test-key", port: int = 0):
        self.api_key = api_key
        self.sent: list[SentMail] = []
        self.requests = 0
        self._failures: list[tuple[int, float, dict]] = []
        self._lock = threading.Lock()
        # `port` lets a test start a new stand-in where a stopped one was (a provider back up).
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSendGrid:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self._failures.clear()
            self.requests = 0

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def fail_next(
        self, status: int = 500, times: int = 1, delay: float = 0.0, headers: dict | None = None
    ) -> None:
        """Answer the next `times` requests with `status` (and `headers`, e.g. Retry-After)
        after `delay` seconds."""
        with self._lock:
            self._failures.extend([(status, delay, headers or {})] * times)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Accept the next requests, but only after `seconds` (longer than a client timeout)."""
        with self._lock:
            self._failures.extend([(202, seconds, {})] * times)

    def to(self, address: str) -> list[SentMail]:
        return [mail for mail in self.sent if mail.to == address]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> list[SentMail]:
        """Wait until `count` messages to `address` arrived; for tests with a separate worker."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} mail(s) to {address}, got {len(self.to(address))}")

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, body: dict | None = None, headers=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                try:
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test): nothing to tell it

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with fake._lock:
                    fake.requests += 1
                    status, delay, extra = (
                        fake._failures.pop(0) if fake._failures else (202, 0.0, {})
                    )
                if delay:
                    time.sleep(delay)
                if self.path != "/v3/mail/send":
                    return self._reply(404, {"errors": [{"message": "not found"}]})
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    return self._reply(401, {"errors": [{"message": "authorization required"}]})
                if status != 202:
                    return self._reply(
                        status, {"errors": [{"message": f"injected {status}"}]}, extra
                    )
                try:
                    payload = json.loads(raw)
                    personalization = payload["personalizations"][0]
                    recipient = personalization["to"][0]
                    content = {c["type"]: c["value"] for c in payload["content"]}
                    subject = payload.get("subject") or personalization.get("subject", "")
                    assert payload["from"]["email"]
                except (ValueError, KeyError, IndexError, AssertionError, TypeError):
                    return self._reply(400, {"errors": [{"message": "bad request"}]})
                message_id = uuid.uuid4().hex
                mail = SentMail(
                    to=recipient["email"],
                    to_name=recipient.get("name", ""),
                    subject=subject,
                    text=content.get("text/plain", ""),
                    html=content.get("text/html", ""),
                    custom_args=payload.get("custom_args")
                    or personalization.get("custom_args", {}),
                    message_id=message_id,
                    payload=payload,
                    headers={
                        **(payload.get("headers") or {}),
                        **(personalization.get("headers") or {}),
                    },
                )
                with fake._lock:
                    fake.sent.append(mail)
                return self._reply(202, None, {"X-Message-Id": message_id})

        return Handler
