"""What a signature records about how it was made, for organizers looking for fraud.

No address is ever stored: the IP and its network (/24 for IPv4, /48 for IPv6) are kept as
HMACs keyed with a key derived from SECRET_KEY, so equal addresses group together while a
list of every IPv4 address hashed without the key tells nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from dataclasses import dataclass

HASH_LENGTH = 32  # hex characters: 128 bits, plenty to tell networks apart

UA_BROWSER = "browser"
UA_MOBILE = "mobile"
UA_BOT = "bot"
UA_SCRIPT = "script"
UA_UNKNOWN = "unknown"
USER_AGENT_CLASSES = (UA_BROWSER, UA_MOBILE, UA_BOT, UA_SCRIPT, UA_UNKNOWN)
# Classes that no person at a browser produces.
AUTOMATED_CLASSES = frozenset({UA_BOT, UA_SCRIPT})

_SCRIPT = re.compile(
    r"curl|wget|python|requests|aiohttp|httpx|urllib|go-http-client|java/|okhttp|libwww|perl|"
    r"ruby|php|node-fetch|axios|undici|postmanruntime|insomnia|httpie|powershell|scrapy|"
    r"headlesschrome|phantomjs|selenium|playwright|puppeteer",
    re.IGNORECASE,
)
_BOT = re.compile(r"bot\b|bot/|crawler|spider|slurp|crawl|facebookexternalhit|preview", re.I)
_MOBILE = re.compile(r"mobile|android|iphone|ipad|ipod|windows phone|opera mini", re.I)
_BROWSER = re.compile(r"mozilla/|opera/", re.I)


@dataclass(frozen=True)
class SignatureSignals:
    """The signals of one signing request, computed by the view from the request."""

    ip_hash: str | None = None
    ip_range_hash: str | None = None
    user_agent_class: str | None = None
    seconds_on_form: int | None = None


def _key(secret_key: str) -> bytes:
    # A key of its own, so these hashes can never be confused with tokens made with SECRET_KEY.
    return hmac.new(secret_key.encode(), b"campaign.signature-signals", hashlib.sha256).digest()


def _hash(secret_key: str, value: str) -> str:
    return hmac.new(_key(secret_key), value.encode(), hashlib.sha256).hexdigest()[:HASH_LENGTH]


def network_of(address: str) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) an address belongs to, as text; None if not an address.

    An IPv4 address mapped into IPv6 counts as the IPv4 address it is.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def ip_hashes(secret_key: str, address: str | None) -> tuple[str | None, str | None]:
    """(hash of the address, hash of its network), or (None, None) for no or a bad address."""
    if not address:
        return None, None
    network = network_of(address)
    if network is None:
        return None, None
    ip = ipaddress.ip_address(address.strip())
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return _hash(secret_key, str(ip)), _hash(secret_key, network)


def classify_user_agent(user_agent: str | None) -> str:
    """A coarse class of the User-Agent header: browser, mobile, bot, script or unknown."""
    ua = (user_agent or "").strip()
    if not ua:
        return UA_UNKNOWN
    if _SCRIPT.search(ua):
        return UA_SCRIPT
    if _BOT.search(ua):
        return UA_BOT
    if _BROWSER.search(ua):
        return UA_MOBILE if _MOBILE.search(ua) else UA_BROWSER
    return UA_UNKNOWN


def collect(
    secret_key: str,
    *,
    remote_addr: str | None,
    user_agent: str | None,
    seconds_on_form: float | None,
) -> SignatureSignals:
    """The signals of a signing request, from what the view read off the request."""
    ip_hash, range_hash = ip_hashes(secret_key, remote_addr)
    seconds = None
    if seconds_on_form is not None and seconds_on_form >= 0:
        # Capped: a tab left open for a week says nothing more than one left open for a day.
        seconds = min(int(seconds_on_form), 7 * 24 * 3600)
    return SignatureSignals(
        ip_hash=ip_hash,
        ip_range_hash=range_hash,
        user_agent_class=classify_user_agent(user_agent),
        seconds_on_form=seconds,
    )
