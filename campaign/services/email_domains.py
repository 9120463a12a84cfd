"""Which email domains a campaign refuses: throwaway-address providers and organizers' own list.

The disposable domains come from the npm package `disposable-email-domains` (MIT), vendored
under campaign/data/disposable-email-domains/ and read once per process into a set.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

from campaign.models import Campaign

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "disposable-email-domains"

# Providers thousands of honest people share: a domain alone says nothing about them, so a
# burst on one must be much larger before it is shown as suspicious (services.suspicious).
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.fr",
        "yahoo.co.uk",
        "ymail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.fr",
        "hotmail.co.uk",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "mail.ru",
        "yandex.ru",
        "ya.ru",
        "libero.it",
        "qq.com",
        "163.com",
    }
)

# A hostname label: letters, digits and inner hyphens (IDNs are entered in their xn-- form).
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)+{_LABEL}$")


@cache
def disposable_domains() -> frozenset[str]:
    """Every domain of the vendored list (exact and wildcard entries alike), lowercased."""
    domains: set[str] = set()
    for name in ("index.json", "wildcard.json"):
        domains.update(d.strip().lower() for d in json.loads((DATA_DIR / name).read_text()))
    domains.discard("")
    return frozenset(domains)


def domain_of(email: str) -> str:
    """The domain part of an address, lowercased, without a trailing dot."""
    return email.rpartition("@")[2].strip().rstrip(".").lower()


def _with_parents(domain: str) -> list[str]:
    """mx.mail.example.org -> [mx.mail.example.org, mail.example.org, example.org]."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def parse_domain_list(text: str) -> tuple[list[str], list[str]]:
    """Organizers' list of domains, one per line: (valid domains, lines that are not domains).

    Leading "@" or "*." and surrounding spaces are forgiven; blank lines and duplicates dropped.
    """
    valid: list[str] = []
    invalid: list[str] = []
    for line in text.splitlines():
        domain = line.strip().lower().removeprefix("@").removeprefix("*.").rstrip(".")
        if not domain:
            continue
        if _DOMAIN.match(domain) and len(domain) <= 253:
            if domain not in valid:
                valid.append(domain)
        else:
            invalid.append(line.strip())
    return valid, invalid


def blocked_domain(campaign: Campaign, email: str) -> str | None:
    """The blocked domain `email` falls under for `campaign` (itself or a parent), or None."""
    candidates = _with_parents(domain_of(email))
    if not candidates:
        return None
    custom = set(parse_domain_list(campaign.blocked_email_domains or "")[0])
    disposable = disposable_domains() if campaign.blocks_disposable_email else frozenset()
    for domain in candidates:
        if domain in custom or domain in disposable:
            return domain
    return None


def is_free_mail(domain: str) -> bool:
    return domain in FREE_MAIL_DOMAINS
