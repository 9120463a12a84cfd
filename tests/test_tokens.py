"""Signed, single-purpose, expiring tokens."""

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from campaign.services.errors import InvalidToken, TokenExpired
from campaign.services.tokens import make_token, read_token

KEY = "a-secret-key-for-token-tests"
DAY = 86400


def test_round_trip_returns_the_payload():
    payload = {"s": 7, "c": 3, "k": "abc"}
    token = make_token(KEY, "confirm", payload)
    assert read_token(KEY, "confirm", token, DAY) == payload


def test_token_is_url_safe():
    token = make_token(KEY, "confirm", {"name": "Алла / ?&#"})
    assert all(ch.isalnum() or ch in "-_." for ch in token)


def test_token_for_another_purpose_is_invalid():
    token = make_token(KEY, "unsubscribe", {"s": 1})
    with pytest.raises(InvalidToken):
        read_token(KEY, "confirm", token, DAY)


def test_wrong_purpose_is_not_reported_as_expired():
    token = make_token(KEY, "unsubscribe", {"s": 1})
    with pytest.raises(InvalidToken) as excinfo:
        read_token(KEY, "confirm", token, DAY)
    assert not isinstance(excinfo.value, TokenExpired)


def test_token_signed_with_another_key_is_invalid():
    token = make_token("another-key", "confirm", {"s": 1})
    with pytest.raises(InvalidToken):
        read_token(KEY, "confirm", token, DAY)


def test_tampered_signature_is_invalid():
    token = make_token(KEY, "confirm", {"s": 1})
    # Not the last character: its low bits are base64 padding, and changing only those would
    # decode to the same signature.
    at = len(token) - 5
    other = "A" if token[at] != "A" else "B"
    with pytest.raises(InvalidToken):
        read_token(KEY, "confirm", token[:at] + other + token[at + 1 :], DAY)


def test_tampered_payload_is_invalid():
    token = make_token(KEY, "confirm", {"s": 1})
    # Re-sign a different payload without the key's salt: the signature no longer matches.
    forged_payload = URLSafeTimedSerializer(KEY).dumps({"s": 2}).split(".")[0]
    forged = ".".join([forged_payload, *token.split(".")[1:]])
    with pytest.raises(InvalidToken):
        read_token(KEY, "confirm", forged, DAY)


@pytest.mark.parametrize("garbage", ["", "not-a-token", "a.b.c", "....."])
def test_garbage_is_invalid(garbage):
    with pytest.raises(InvalidToken):
        read_token(KEY, "confirm", garbage, DAY)


def test_old_token_is_expired(monkeypatch):
    token = make_token(KEY, "confirm", {"s": 1})
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + DAY + 5)
    with pytest.raises(TokenExpired):
        read_token(KEY, "confirm", token, DAY)


def test_expired_is_a_kind_of_invalid():
    token = make_token(KEY, "confirm", {"s": 1})
    with pytest.raises(InvalidToken):
        read_token(KEY, "confirm", token, -1)


def test_token_within_max_age_is_accepted(monkeypatch):
    token = make_token(KEY, "confirm", {"s": 1})
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + DAY - 60)
    assert read_token(KEY, "confirm", token, DAY) == {"s": 1}
