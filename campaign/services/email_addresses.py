"""Email addresses: the form mail is sent to, and the key that says who signed.

Decision on `+tags` and dots: the unique key strips a `+tag` from every address and the dots
from Gmail's local parts, because those providers deliver all such variants to one mailbox,
and a petition's count is only credible if one mailbox signs once. Mail still goes to the
address exactly as typed (domain normalized), so people who filter on `+tags` keep their filters.
"""

from __future__ import annotations

import hashlib

from email_validator import EmailNotValidError, validate_email

from campaign.services.errors import InvalidEmail

# Providers that ignore dots in the local part.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def normalize_email(address: str) -> str:
    """The address to deliver to: trimmed, domain lowercased and IDNA-encoded.

    Raises InvalidEmail with the validator's explanation when it cannot be an address.
    """
    try:
        result = validate_email(address.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc
    return f"{result.local_part}@{result.ascii_domain}"


def mailbox_key(address: str) -> str:
    """The identity of the mailbox behind an address, used for one-signature-per-person."""
    local, _, domain = normalize_email(address).rpartition("@")
    local = local.lower()
    domain = domain.lower()
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        domain = _DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def mailbox_digest(key: str) -> str:
    """A short digest of a mailbox key, for links and cookies that must not carry the address."""
    return hashlib.sha256(key.encode()).hexdigest()[:16]
