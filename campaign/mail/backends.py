"""Delivery backends: where an outbox row goes to become a real email."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr, parsedate_to_datetime
from typing import Protocol, TextIO
from urllib.error import URLError

from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, From, Header, Mail, To

from campaign.models import OutboxMessage

log = logging.getLogger(__name__)
# SendGrid's HTTP client logs every request body at DEBUG: recipients' names, addresses and the
# whole message. Never, whatever level the operator sets for the rest.
logging.getLogger("python_http_client").setLevel(logging.INFO)


def message_headers(message: OutboxMessage) -> dict[str, str]:
    """The extra headers stored on an outbox row (List-Unsubscribe…), empty when there are none."""
    if not message.headers:
        return {}
    return {str(k): str(v) for k, v in json.loads(message.headers).items()}


class DeliveryError(Exception):
    """The provider did not take the message. `retryable` says whether trying later may work."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        # Seconds the provider asked us to wait (a 429's or 503's Retry-After), if it said.
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """The wait a Retry-After header asks for, in seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Backend(Protocol):
    def send(self, message: OutboxMessage) -> str:
        """Hand the message to the provider; return its id for the message. Raise DeliveryError."""


@dataclass
class ConsoleBackend:
    """Prints each message: the default for a local run, so links can be followed by hand."""

    mail_from: str
    stream: TextIO = sys.stdout

    def send(self, message: OutboxMessage) -> str:
        rule = "-" * 72
        extra = "".join(f"{name}: {value}\n" for name, value in message_headers(message).items())
        print(
            f"{rule}\nFrom: {self.mail_from}\nTo: {message.to_name} <{message.to_email}>\n"
            f"Subject: {message.subject}\nLanguage: {message.language}\n{extra}\n"
            f"{message.text_body}\n{rule}",
            file=self.stream,
            flush=True,
        )
        return f"console-{message.id}"


class SendGridBackend:
    """SendGrid's v3 `mail/send` through the official SDK; the host is configurable for tests."""

    def __init__(self, api_key: str, mail_from: str, host: str, timeout: float):
        self.client = SendGridAPIClient(api_key=api_key, host=host)
        # The SDK takes no timeout argument; its HTTP client passes this one to every request.
        self.client.client.timeout = timeout
        name, address = parseaddr(mail_from)
        self.sender = From(address, name or None)

    def send(self, message: OutboxMessage) -> str:
        mail = Mail(from_email=self.sender, subject=message.subject)
        mail.add_to(To(message.to_email, message.to_name or None))
        mail.add_content(Content("text/plain", message.text_body))
        mail.add_content(Content("text/html", message.html_body))
        mail.add_custom_arg(CustomArg("outbox_id", str(message.id)))
        for name, value in message_headers(message).items():
            mail.add_header(Header(name, value))
        try:
            response = self.client.send(mail)
        except SendGridHTTPError as exc:
            status = exc.status_code
            body = (exc.body or b"")[:500]
            text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
            # 408, 429 and 5xx mean "not now"; other 4xx mean the request itself is wrong.
            retryable = status in (408, 429) or status >= 500
            headers = exc.headers or {}
            raise DeliveryError(
                f"SendGrid answered {status}: {text}",
                retryable=retryable,
                retry_after=retry_after_seconds(headers.get("Retry-After")),
            ) from exc
        except URLError as exc:
            # urllib raises URLError while connecting or sending: SendGrid never had the
            # message, so trying again cannot send it twice.
            raise DeliveryError(f"could not reach SendGrid: {exc.reason}", retryable=True) from exc
        except OSError as exc:
            # The request went out but no answer came back (a read timeout, a reset): SendGrid
            # may have accepted it. Like a worker that died mid-send, this is not retried.
            raise DeliveryError(
                f"SendGrid did not answer ({exc.__class__.__name__}: {exc}); it may have taken "
                "the message, so it is not sent again",
                retryable=False,
            ) from exc
        headers = response.headers or {}
        return headers.get("X-Message-Id", "") or ""


def backend_from_config(config) -> Backend:
    """The backend named by MAIL_BACKEND."""
    name = config["MAIL_BACKEND"]
    if name == "console":
        return ConsoleBackend(mail_from=config["MAIL_FROM"])
    if name == "sendgrid":
        if not config.get("SENDGRID_API_KEY"):
            raise RuntimeError("MAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
        return SendGridBackend(
            api_key=config["SENDGRID_API_KEY"],
            mail_from=config["MAIL_FROM"],
            host=config["SENDGRID_API_HOST"],
            timeout=config["SENDGRID_TIMEOUT"],
        )
    raise RuntimeError(f"unknown MAIL_BACKEND {name!r} (expected 'console' or 'sendgrid')")
