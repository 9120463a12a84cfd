"""Signed, single-purpose, expiring tokens for links in emails."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from campaign.services.errors import InvalidToken, TokenExpired


def make_token(secret_key: str, purpose: str, payload: Any) -> str:
    """Sign `payload` for one purpose; a token made for another purpose never reads back."""
    return URLSafeTimedSerializer(secret_key, salt=f"campaign.{purpose}").dumps(payload)


def read_token(secret_key: str, purpose: str, token: str, max_age: int) -> Any:
    """The payload of a token made by `make_token` for `purpose` at most `max_age` seconds ago."""
    serializer = URLSafeTimedSerializer(secret_key, salt=f"campaign.{purpose}")
    try:
        return serializer.loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenExpired("the link has expired") from exc
    except BadSignature as exc:
        raise InvalidToken("the link is not valid") from exc
