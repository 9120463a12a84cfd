"""A person's data in one campaign: find, export, erase (campaign/services/people.py).

Signatures and their emails are made by the real signing service, so the outbox rows look
exactly like production's. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from campaign.models import AuditEntry, Campaign, OutboxMessage, OutboxStatus, Signature
from campaign.services import people
from campaign.services.email_addresses import mailbox_key
from campaign.services.errors import InvalidEmail
from campaign.services.signing import SignatureData, confirm, sign
from tests.factories import make_campaign, make_organizer, make_signature

NAME = "Jane Doe-Person"
TYPED = "Jane.Doe+petition@gmail.com"


def _sign(db, campaign: Campaign, email: str = TYPED, *, confirmed: bool = False, **fields):
    fields.setdefault("full_name", NAME)
    fields.setdefault("country", "DE")
    fields.setdefault("city", "Leipzig")
    fields.setdefault("reason", "Because it matters")
    result = sign(db.session, campaign, SignatureData(email=email, **fields), "en")
    signature = result.signature
    if confirmed:
        message = _messages_to(db, signature.email)[-1]
        token = re.search(r"/confirm/([A-Za-z0-9_.\-]+)", message.text_body).group(1)
        confirm(db.session, token)
    db.session.commit()
    return signature


def _messages_to(db, address: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.to_email == address)
            .order_by(OutboxMessage.id)
        )
    )


def _count(db, campaign: Campaign) -> int:
    db.session.expire_all()
    return db.session.get(Campaign, campaign.id).signature_count


def _signatures(db, campaign: Campaign) -> list[Signature]:
    db.session.expire_all()
    return list(db.session.scalars(select(Signature).where(Signature.campaign_id == campaign.id)))


def _entries(db, action: str) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


@pytest.fixture
def campaign(db):
    campaign = make_campaign(slug="save", title="Save the river")
    db.session.commit()
    return campaign


@pytest.fixture
def owner(db):
    organizer = make_organizer(email="owner@example.org")
    db.session.commit()
    return organizer


# Finding


@pytest.mark.parametrize(
    "typed",
    [
        TYPED,
        "jane.doe+petition@gmail.com",
        "JANEDOE@GMAIL.COM",
        "janedoe@gmail.com",
        "jane.doe+other@googlemail.com",
        "  Jane.Doe@Gmail.com ",
    ],
)
def test_find_matches_every_variant_of_the_mailbox(db, campaign, typed):
    signature = _sign(db, campaign)

    person = people.find_person(db.session, campaign, typed)

    assert person.is_found
    assert [s.id for s in person.signatures] == [signature.id]


def test_find_matches_plus_tags_on_any_provider(db, campaign):
    signature = make_signature(
        campaign, email="Bob+news@Example.org", email_key=mailbox_key("Bob+news@Example.org")
    )

    person = people.find_person(db.session, campaign, "bob@EXAMPLE.org")

    assert person.signatures == [signature]


def test_find_does_not_match_another_mailbox(db, campaign):
    _sign(db, campaign)

    person = people.find_person(db.session, campaign, "jane.doe@example.org")

    assert not person.is_found
    assert person.messages == []


def test_find_sees_only_this_campaign(db, campaign):
    other = make_campaign(slug="other")
    _sign(db, other)

    assert not people.find_person(db.session, campaign, TYPED).is_found


def test_find_refuses_what_is_not_an_address(db, campaign):
    with pytest.raises(InvalidEmail):
        people.find_person(db.session, campaign, "not an address")


def test_find_includes_this_campaigns_emails_to_the_person(db, campaign):
    _sign(db, campaign)
    _sign(db, campaign)  # signing again resends the confirmation

    person = people.find_person(db.session, campaign, TYPED)

    assert len(person.messages) == 2
    assert {m.kind for m in person.messages} == {"signature_confirmation"}


def test_find_leaves_out_emails_about_a_campaign_whose_slug_starts_alike(db, campaign):
    longer = make_campaign(slug="save-the-trees", title="Save the trees")
    _sign(db, longer)
    _sign(db, campaign)

    person = people.find_person(db.session, campaign, TYPED)

    assert len(person.messages) == 1
    assert "Save the river" in person.messages[0].subject


# Exporting


def test_export_holds_the_signature_as_stored(db, campaign, owner):
    _sign(db, campaign, confirmed=True, is_public=True, has_update_consent=True)

    export = people.export_person(db.session, campaign, owner, "janedoe@gmail.com")

    document = json.loads(json.dumps(export.document))  # it is JSON-ready as it is
    assert document["campaign"] == "save"
    assert document["exported_at"]
    [signature] = document["signatures"]
    assert signature["full_name"] == NAME
    assert signature["email"] == TYPED
    assert signature["country"] == "DE"
    assert signature["city"] == "Leipzig"
    assert signature["reason"] == "Because it matters"
    assert signature["language"] == "en"
    assert signature["is_public"] is True
    assert signature["has_update_consent"] is True
    assert signature["signed_at"]
    assert signature["confirmed_at"]


def test_export_holds_the_emails_sent_about_this_campaign_only(db, campaign, owner):
    other = make_campaign(slug="other", title="Other title")
    _sign(db, other)
    _sign(db, campaign)

    document = people.export_person(db.session, campaign, owner, TYPED).document

    [email] = document["emails"]
    assert email["kind"] == "signature_confirmation"
    assert email["to_email"] == TYPED
    assert email["to_name"] == NAME
    assert "Save the river" in email["subject"]
    assert "/c/save/confirm/" in email["text_body"]
    assert email["html_body"]
    assert email["status"] == "pending"


def test_export_is_audited_without_the_address(db, campaign, owner):
    _sign(db, campaign)

    export = people.export_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    [entry] = _entries(db, "person.export")
    assert entry.campaign_id == campaign.id
    assert entry.actor_email == "owner@example.org"
    assert entry.details == {"person": export.reference, "signatures": 1, "emails": 1}
    assert re.fullmatch(r"[0-9a-f]{16}", export.reference)
    _assert_anonymous(entry)


def test_export_of_nobody_is_refused_and_not_audited(db, campaign, owner):
    with pytest.raises(people.PersonNotFound):
        people.export_person(db.session, campaign, owner, "nobody@example.org")
    assert _entries(db, "person.export") == []


# The anonymous reference


def test_reference_is_the_same_for_every_variant_and_depends_on_the_secret(app):
    reference = people.person_reference(mailbox_key(TYPED))
    assert reference == people.person_reference(mailbox_key("janedoe@googlemail.com"))
    assert reference != people.person_reference(mailbox_key("someone@else.org"))
    app.config["SECRET_KEY"] = "another secret"
    assert reference != people.person_reference(mailbox_key(TYPED))


# Erasing


def test_erase_removes_the_persons_signature_in_this_campaign_only(db, campaign, owner):
    other = make_campaign(slug="other")
    mine = _sign(db, campaign)
    elsewhere = _sign(db, other)
    neighbour = _sign(db, campaign, "neighbour@example.org", full_name="Nina Neighbour")

    report = people.erase_person(db.session, campaign, owner, "JaneDoe@gmail.com")
    db.session.commit()

    assert report.signatures == 1
    assert [s.id for s in _signatures(db, campaign)] == [neighbour.id]
    assert [s.id for s in _signatures(db, other)] == [elsewhere.id]
    assert db.session.get(Signature, mine.id) is None


def test_erasing_a_confirmed_signature_lowers_the_count(db, campaign, owner):
    _sign(db, campaign, confirmed=True)
    _sign(db, campaign, "neighbour@example.org", confirmed=True)
    assert _count(db, campaign) == 2

    report = people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    assert report.confirmed_signatures == 1
    assert _count(db, campaign) == 1


def test_erasing_an_unconfirmed_signature_leaves_the_count(db, campaign, owner):
    _sign(db, campaign)
    _sign(db, campaign, "neighbour@example.org", confirmed=True)

    report = people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    assert report.signatures == 1
    assert report.confirmed_signatures == 0
    assert _count(db, campaign) == 1


def test_erasing_leaves_other_campaigns_counts(db, campaign, owner):
    other = make_campaign(slug="other")
    _sign(db, campaign, confirmed=True)
    _sign(db, other, confirmed=True)

    people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    assert _count(db, campaign) == 0
    assert _count(db, other) == 1


def test_count_never_goes_below_zero(db, campaign, owner):
    _sign(db, campaign, confirmed=True)
    campaign.signature_count = 0  # a counter that drifted
    db.session.commit()

    people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    assert _count(db, campaign) == 0


def test_erase_scrubs_this_campaigns_emails_and_keeps_the_rows(db, campaign, owner):
    other = make_campaign(slug="other")
    _sign(db, campaign, confirmed=True)
    _sign(db, campaign)  # an "already signed" email too
    _sign(db, other)
    before = db.session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()))

    report = people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    db.session.expire_all()
    rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert rows[-1].id == before  # nothing deleted, nothing sent
    erased = [m for m in rows if m.to_email == people.ERASED_ADDRESS]
    assert report.emails == len(erased) == 2
    assert {m.kind for m in erased} == {"signature_confirmation", "signature_already_confirmed"}
    for message in erased:
        assert (message.to_name, message.subject, message.text_body, message.html_body) == (
            "",
            "",
            "",
            "",
        )
    [kept] = _messages_to(db, TYPED)
    assert "/c/other/" in kept.text_body
    assert kept.to_name == NAME


def test_waiting_emails_are_never_sent_after_erasure(db, campaign, owner):
    _sign(db, campaign)
    [message] = _messages_to(db, TYPED)
    assert message.status == OutboxStatus.PENDING

    people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    db.session.expire_all()
    message = db.session.get(OutboxMessage, message.id)
    assert message.status == OutboxStatus.FAILED
    assert message.last_error == people.ERASED_BEFORE_DELIVERY


def test_sent_emails_stay_sent_and_lose_their_provider_error(db, campaign, owner):
    _sign(db, campaign)
    [message] = _messages_to(db, TYPED)
    message.status = OutboxStatus.SENT
    message.provider_message_id = "provider-1"
    message.last_error = f"bounced: {TYPED}"
    db.session.commit()

    people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    db.session.expire_all()
    message = db.session.get(OutboxMessage, message.id)
    assert message.status == OutboxStatus.SENT
    assert message.last_error == ""
    assert message.provider_message_id == ""


def test_erasure_is_audited_anonymously(db, campaign, owner):
    _sign(db, campaign, confirmed=True)

    report = people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    [entry] = _entries(db, "person.erase")
    assert entry.campaign_id == campaign.id
    assert entry.actor_id == owner.id
    assert entry.details == {
        "person": report.reference,
        "signatures": 1,
        "confirmed_signatures": 1,
        "emails": 1,
        "comments": 0,
        "comment_blocks": 0,
        "rsvps": 0,
        "hosted_events": 0,
        "trusted_hosts": 0,
        "subscriptions": 0,
    }
    _assert_anonymous(entry)


def test_erase_and_export_name_the_person_alike(db, campaign, owner):
    _sign(db, campaign)
    exported = people.export_person(db.session, campaign, owner, TYPED)
    erased = people.erase_person(db.session, campaign, owner, "janedoe@googlemail.com")
    assert exported.reference == erased.reference


def test_erasing_twice_is_harmless(db, campaign, owner):
    _sign(db, campaign, confirmed=True)
    _sign(db, campaign, "neighbour@example.org", confirmed=True)
    people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    with pytest.raises(people.PersonNotFound):
        people.erase_person(db.session, campaign, owner, TYPED)
    db.session.rollback()

    assert _count(db, campaign) == 1
    assert len(_signatures(db, campaign)) == 1
    assert len(_entries(db, "person.erase")) == 1


def test_erasing_nobody_changes_nothing(db, campaign, owner):
    _sign(db, campaign, confirmed=True)

    with pytest.raises(people.PersonNotFound):
        people.erase_person(db.session, campaign, owner, "someone@example.org")
    db.session.rollback()

    assert _count(db, campaign) == 1
    assert _entries(db, "person.erase") == []


def test_erasing_an_invalid_address_is_refused(db, campaign, owner):
    with pytest.raises(InvalidEmail):
        people.erase_person(db.session, campaign, owner, "no")


def test_later_features_add_their_own_erasure_steps(db, campaign, owner, monkeypatch):
    seen = []

    def erase_comments(session, person):
        seen.append(person.key)
        return {"comments": 3}

    monkeypatch.setattr(people, "ERASERS", [*people.ERASERS, erase_comments])
    _sign(db, campaign)

    report = people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()

    assert seen == ["janedoe@gmail.com"]
    assert report.counts["comments"] == 3
    [entry] = _entries(db, "person.erase")
    assert entry.details["comments"] == 3


def test_later_features_add_their_own_export_sections(db, campaign, owner, monkeypatch):
    monkeypatch.setattr(
        people, "EXPORTERS", [*people.EXPORTERS, lambda session, person: {"comments": ["Hi"]}]
    )
    _sign(db, campaign)

    document = people.export_person(db.session, campaign, owner, TYPED).document

    assert document["comments"] == ["Hi"]
    assert len(document["signatures"]) == 1


def _assert_anonymous(entry: AuditEntry) -> None:
    """Nothing in the entry's details names the person, in any form."""
    text = json.dumps(entry.details).lower()
    for needle in ("jane", "doe", "gmail", "@", "leipzig", mailbox_key(TYPED)):
        assert needle not in text, (needle, entry.details)


# --- comments (services.comments registers its finder, exporter and eraser) -------------------


def _comment(db, campaign: Campaign, email: str = TYPED, body: str = "My words, my name."):
    from campaign.services.comments import CommentData, CommentRules, post_comment

    result = post_comment(
        db.session,
        campaign,
        CommentData(author_name="Jane Doe", email=email, body=body),
        ui_language="en",
        rules=CommentRules(),
    )
    db.session.commit()
    return result.comment


def test_a_commenter_who_never_signed_is_found_and_exported(db, campaign, owner):
    comment = _comment(db, campaign)

    export = people.export_person(db.session, campaign, owner, "janedoe@gmail.com")
    document = json.loads(json.dumps(export.document))
    assert document["signatures"] == []
    [exported] = document["comments"]
    assert exported["body"] == "My words, my name."
    assert exported["email"] == comment.email
    # The confirmation email sent to the commenter is theirs too.
    assert [m["kind"] for m in document["emails"]] == ["comment_confirmation"]


def test_erasing_a_commenter_removes_their_words_and_keeps_the_thread(db, campaign, owner):
    from campaign.models import Comment, CommentBlock, CommentStatus
    from tests.factories import make_comment

    comment = _comment(db, campaign)
    reply = make_comment(campaign, reply_to=comment, body="A reply by someone else")
    db.session.add(
        CommentBlock(campaign_id=campaign.id, email_key=mailbox_key(TYPED), author_name="Jane")
    )
    other_campaign = make_campaign(slug="other-words")
    elsewhere = _comment(db, other_campaign)

    report = people.erase_person(db.session, campaign, owner, TYPED)
    db.session.commit()
    assert report.counts["comments"] == 1
    assert report.counts["comment_blocks"] == 1

    db.session.expire_all()
    erased = db.session.get(Comment, comment.id)
    assert erased.status == CommentStatus.REMOVED
    assert (erased.author_name, erased.body, erased.email_key) == ("", "", "")
    assert "@" not in erased.email.replace(people.ERASED_ADDRESS, "")
    assert db.session.get(Comment, reply.id).body == "A reply by someone else"
    assert db.session.get(Comment, elsewhere.id).body == "My words, my name."
    assert db.session.scalars(select(CommentBlock)).all() == []
    # This campaign's confirmation email is scrubbed; the other campaign's is left alone.
    remaining = _messages_to(db, TYPED)
    assert len(remaining) == 1
    assert "/c/other-words/" in remaining[0].text_body
    # A second erasure finds nothing.
    with pytest.raises(people.PersonNotFound):
        people.erase_person(db.session, campaign, owner, TYPED)
