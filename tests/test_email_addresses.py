"""Email addresses: where mail goes (normalize_email) and who signed (mailbox_key)."""

import pytest

from campaign.services.email_addresses import mailbox_key, normalize_email
from campaign.services.errors import InvalidEmail

# normalize_email: the address mail is delivered to


def test_normalize_trims_surrounding_whitespace():
    assert normalize_email("  alice@example.org \n") == "alice@example.org"


def test_normalize_lowercases_the_domain():
    assert normalize_email("alice@Example.ORG") == "alice@example.org"


def test_normalize_keeps_the_local_part_as_typed():
    # Mail goes to the address as the person typed it; only the key is case-folded.
    assert normalize_email("Alice.Smith+News@Example.org") == "Alice.Smith+News@example.org"


def test_normalize_encodes_an_international_domain_as_idna():
    assert normalize_email("user@Bücher.de") == "user@xn--bcher-kva.de"


def test_normalize_keeps_an_already_ascii_idna_domain():
    assert normalize_email("user@xn--bcher-kva.de") == "user@xn--bcher-kva.de"


@pytest.mark.parametrize(
    "address",
    [
        "",
        "   ",
        "no-at-sign",
        "alice@",
        "@example.org",
        "alice@localhost",
        "alice@example",
        "al ice@example.org",
        "alice@@example.org",
        "alice@example..org",
    ],
)
def test_normalize_rejects_what_cannot_be_an_address(address):
    with pytest.raises(InvalidEmail):
        normalize_email(address)


def test_invalid_email_explains_what_is_wrong():
    with pytest.raises(InvalidEmail) as excinfo:
        normalize_email("no-at-sign")
    assert "@" in str(excinfo.value)


def test_invalid_email_keeps_the_validator_error_as_cause():
    from email_validator import EmailNotValidError

    with pytest.raises(InvalidEmail) as excinfo:
        normalize_email("alice@example..org")
    assert isinstance(excinfo.value.__cause__, EmailNotValidError)


# mailbox_key: the identity of the mailbox, for one signature per person


def test_key_lowercases_the_local_part():
    assert mailbox_key("Alice@Example.org") == "alice@example.org"


def test_key_lowercases_a_non_ascii_local_part():
    assert mailbox_key("Ünïcode@example.org") == "ünïcode@example.org"


def test_key_normalizes_like_normalize_email():
    assert mailbox_key("  alice@Bücher.DE ") == "alice@xn--bcher-kva.de"


@pytest.mark.parametrize(
    "address",
    ["alice+petitions@example.org", "alice+a+b@example.org", "Alice+X@EXAMPLE.org"],
)
def test_key_strips_a_plus_tag_on_any_domain(address):
    assert mailbox_key(address) == "alice@example.org"


def test_key_strips_a_plus_tag_on_gmail():
    assert mailbox_key("alice+news@gmail.com") == "alice@gmail.com"


def test_key_keeps_a_local_part_that_is_only_a_tag():
    # Stripping would leave nothing; the address is kept rather than made empty.
    assert mailbox_key("+tag@example.org") == "+tag@example.org"


def test_key_removes_dots_on_gmail():
    assert mailbox_key("a.l.i.c.e@gmail.com") == "alice@gmail.com"


def test_key_maps_googlemail_to_gmail_without_dots():
    assert mailbox_key("A.Lice@GoogleMail.com") == "alice@gmail.com"


def test_key_removes_dots_and_tag_on_gmail_together():
    assert mailbox_key("A.Lice+x.y@gmail.com") == "alice@gmail.com"


@pytest.mark.parametrize(
    "address", ["a.lice@example.org", "a.lice@outlook.com", "a.lice@mail.gmail.com"]
)
def test_key_keeps_dots_outside_gmail(address):
    assert mailbox_key(address).startswith("a.lice@")


def test_gmail_variants_share_one_key():
    variants = [
        "alice@gmail.com",
        "ALICE@gmail.com",
        "a.lice@gmail.com",
        "alice+petition@gmail.com",
        "Al.Ice+x@googlemail.com",
        " alice@GMAIL.COM ",
    ]
    assert {mailbox_key(v) for v in variants} == {"alice@gmail.com"}


def test_different_mailboxes_have_different_keys():
    assert mailbox_key("alice@example.org") != mailbox_key("alice@example.com")
    assert mailbox_key("a.lice@example.org") != mailbox_key("alice@example.org")


def test_key_rejects_an_invalid_address():
    with pytest.raises(InvalidEmail):
        mailbox_key("not an address")
