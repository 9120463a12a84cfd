"""Signals recorded with each signature: keyed hashes of the IP and its network, the user
agent's class, the time spent on the form, the email domain (services.signals)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaign.models import Signature
from campaign.services import signals
from tests.factories import make_campaign

CURL = "curl/8.5.0"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="clean-water")
    db.session.commit()
    return campaign


def _sign(client, email, *, ip="203.0.113.5", ua=FIREFOX, started=None):
    data = {"full_name": "Ada Lovelace", "email": email, "country": "GB"}
    if started is not None:
        data["started"] = started
    response = client.post(
        "/en/c/clean-water",
        data=data,
        headers={"User-Agent": ua},
        environ_base={"REMOTE_ADDR": ip},
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def _stamp_from_page(client) -> str:
    page = client.get("/en/c/clean-water").get_data(as_text=True)
    match = re.search(r'<input[^>]*name="started"[^>]*value="([^"]+)"', page) or re.search(
        r'<input[^>]*value="([^"]+)"[^>]*name="started"', page
    )
    assert match, "the sign form carries the signed time it was shown"
    return match.group(1)


def _signature(db, email) -> Signature:
    db.session.expire_all()
    return db.session.scalars(select(Signature).where(Signature.email == email)).one()


def test_signals_are_stored_without_the_address(db, client, campaign):
    _sign(client, "ada@example.org", started=_stamp_from_page(client))
    signature = _signature(db, "ada@example.org")
    assert signature.user_agent_class == "browser"
    assert signature.email_domain == "example.org"
    assert signature.seconds_on_form is not None
    assert 0 <= signature.seconds_on_form < 60
    assert re.fullmatch(r"[0-9a-f]{32}", signature.ip_hash)
    assert re.fullmatch(r"[0-9a-f]{32}", signature.ip_range_hash)
    assert signature.ip_hash != signature.ip_range_hash
    # Nowhere in the row: not the address, not its network.
    row = {c.name: getattr(signature, c.key) for c in Signature.__table__.columns}
    assert not any("203.0.113" in str(value) for value in row.values())


def test_hashing_is_keyed_with_the_secret(app):
    plain = signals.ip_hashes("one secret", "203.0.113.5")
    other = signals.ip_hashes("another secret", "203.0.113.5")
    assert plain != other
    assert None not in plain
    import hashlib

    # Not a bare hash of the address, which anyone could compute for every IPv4 address.
    assert plain[0] not in {
        hashlib.sha256(b"203.0.113.5").hexdigest()[:32],
        hashlib.md5(b"203.0.113.5").hexdigest(),  # noqa: S324 - the very thing ruled out
    }


def test_addresses_of_one_network_share_a_range_hash(db, client, campaign):
    _sign(client, "a@example.org", ip="203.0.113.5")
    _sign(client, "b@example.org", ip="203.0.113.77")
    _sign(client, "c@example.org", ip="198.51.100.5")
    a, b, c = (_signature(db, f"{x}@example.org") for x in "abc")
    assert a.ip_range_hash == b.ip_range_hash != c.ip_range_hash
    assert a.ip_hash != b.ip_hash


def test_ipv6_groups_by_48_and_mapped_ipv4_is_ipv4():
    key = "k"
    one = signals.ip_hashes(key, "2001:db8:abcd:1::1")
    two = signals.ip_hashes(key, "2001:db8:abcd:ffff::2")
    far = signals.ip_hashes(key, "2001:db8:abce::1")
    assert one[1] == two[1] != far[1]
    assert signals.ip_hashes(key, "::ffff:203.0.113.5") == signals.ip_hashes(key, "203.0.113.5")
    assert signals.ip_hashes(key, "not an address") == (None, None)


@pytest.mark.parametrize(
    ("agent", "expected"),
    [
        (FIREFOX, "browser"),
        (IPHONE, "mobile"),
        (CURL, "script"),
        ("python-requests/2.32.3", "script"),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
        ("", "unknown"),
        ("SomethingElse", "unknown"),
    ],
)
def test_user_agent_classes(agent, expected):
    assert signals.classify_user_agent(agent) == expected


def test_a_script_without_the_form_has_no_time_and_is_classed(db, client, campaign):
    _sign(client, "bot@example.org", ua=CURL)
    signature = _signature(db, "bot@example.org")
    assert signature.user_agent_class == "script"
    assert signature.seconds_on_form is None


def test_a_forged_time_is_ignored(db, client, campaign):
    _sign(client, "forger@example.org", started="1700000000.0")
    assert _signature(db, "forger@example.org").seconds_on_form is None
