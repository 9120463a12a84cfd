"""Keeping the discussion civil: the queue, moderators' actions, blocks, policy and alerts
(campaign/services/moderation.py).

Every test here runs on SQLite and on PostgreSQL (the `app` fixture is parametrized).
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from campaign.extensions import db as _db
from campaign.models import (
    AuditEntry,
    Campaign,
    Comment,
    CommentBlock,
    CommentFlag,
    CommentPolicy,
    CommentStatus,
    FlagReason,
    OutboxMessage,
)
from campaign.models.types import utcnow
from campaign.services import moderation, signing
from campaign.services.comments import (
    CommentData,
    CommentRules,
    discussion,
    flag_comment,
    post_comment,
    shown_count,
)
from campaign.services.errors import CommentRejected, NotModeratable
from campaign.services.moderation import (
    QueueTab,
    approve,
    block_author,
    blocks,
    campaign_comment,
    hide,
    moderation_queue,
    queue_counts,
    remove,
    send_moderation_alerts,
    set_policy,
    unblock,
)
from campaign.services.signing import SignatureData
from tests.factories import add_member, make_campaign, make_comment, make_organizer

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
RULES = CommentRules(flag_threshold=3)


def _campaign(**kw) -> Campaign:
    kw.setdefault("languages", ("en", "ru"))
    return make_campaign(**kw)


def _moderator(campaign, role: str = "moderator", **kw):
    organizer = make_organizer(**kw)
    add_member(campaign, organizer, role)
    return organizer


def _flag(db, comment, *readers: str, reason: FlagReason = FlagReason.SPAM) -> Comment:
    for reader in readers:
        flag_comment(db.session, comment, reader, reason, rules=RULES)
    return comment


def _hidden_by_flags(db, campaign, **kw) -> Comment:
    comment = _flag(db, make_comment(campaign, **kw), "r1", "r2", "r3")
    assert comment.status == CommentStatus.HIDDEN
    assert comment.hidden_by_flags
    return comment


def _reload(db, comment: Comment) -> Comment:
    db.session.expire_all()
    return db.session.get(Comment, comment.id)


def _audit(db, campaign=None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if campaign is not None:
        query = query.where(AuditEntry.campaign_id == campaign.id)
    return list(db.session.scalars(query))


def _ids(page) -> list[int]:
    return [item.comment.id for item in page.items]


def _post(db, campaign, email="alice@example.org", body="A comment about the campaign."):
    data = CommentData(author_name="Alice", email=email, body=body)
    return post_comment(db.session, campaign, data, ui_language="en", rules=RULES)


# The queue


def test_an_empty_queue(db):
    campaign = _campaign()
    assert queue_counts(db.session, campaign) == moderation.QueueCounts(0, 0, 0)
    for tab in QueueTab.ALL:
        page = moderation_queue(db.session, campaign, tab)
        assert (page.items, page.page, page.pages, page.total) == ([], 1, 1, 0)


def test_pending_tab_lists_comments_waiting_oldest_first(db):
    campaign = _campaign()
    now = utcnow()
    late = make_comment(campaign, status=CommentStatus.PENDING)
    early = make_comment(campaign, status=CommentStatus.PENDING)
    late.confirmed_at, early.confirmed_at = now, now - timedelta(hours=2)
    for status in (
        CommentStatus.VISIBLE,
        CommentStatus.HIDDEN,
        CommentStatus.REMOVED,
        CommentStatus.UNCONFIRMED,
    ):
        make_comment(campaign, status=status)
    make_comment(_campaign(), status=CommentStatus.PENDING)  # another campaign's
    page = moderation_queue(db.session, campaign, QueueTab.PENDING)
    assert page.tab == QueueTab.PENDING
    assert _ids(page) == [early.id, late.id]
    assert page.total == 2
    assert queue_counts(db.session, campaign).pending == 2


def test_flagged_tab_lists_flagged_comments_most_flags_first_with_reasons(db):
    campaign = _campaign()
    once = _flag(db, make_comment(campaign), "r1", reason=FlagReason.OTHER)
    twice = make_comment(campaign)
    _flag(db, twice, "r1", reason=FlagReason.SPAM)
    _flag(db, twice, "r2", reason=FlagReason.ABUSE)
    hidden = _hidden_by_flags(db, campaign)
    make_comment(campaign)  # not flagged
    page = moderation_queue(db.session, campaign, QueueTab.FLAGGED)
    assert _ids(page) == [hidden.id, twice.id, once.id]
    reasons = {item.comment.id: item.reasons for item in page.items}
    assert reasons[twice.id] == {"spam": 1, "abuse": 1}
    assert reasons[once.id] == {"other": 1}
    assert reasons[hidden.id] == {"spam": 3}
    assert queue_counts(db.session, campaign).flagged == 3


def test_reviewed_flags_leave_the_flagged_tab(db):
    campaign = _campaign()
    moderator = _moderator(campaign)
    kept = _flag(db, make_comment(campaign), "r1")
    hidden = _flag(db, make_comment(campaign), "r1")
    approve(db.session, moderator, kept)
    hide(db.session, moderator, hidden)
    assert moderation_queue(db.session, campaign, QueueTab.FLAGGED).items == []
    assert queue_counts(db.session, campaign).flagged == 0


def test_a_comment_hidden_by_a_moderator_is_not_in_the_flagged_tab_even_with_flags(db):
    # Flags that came in before a moderator hid it need no second review.
    campaign = _campaign()
    make_comment(campaign, status=CommentStatus.HIDDEN, flag_count=2)
    assert moderation_queue(db.session, campaign, QueueTab.FLAGGED).items == []
    assert queue_counts(db.session, campaign).flagged == 0


def test_hidden_tab_lists_what_moderators_hid_or_removed_in_thirty_days(db):
    campaign = _campaign()
    moderator = _moderator(campaign)
    hidden, removed, old = make_comment(campaign), make_comment(campaign), make_comment(campaign)
    hide(db.session, moderator, hidden)
    remove(db.session, moderator, removed)
    hide(db.session, moderator, old)
    old.moderated_at = utcnow() - timedelta(days=31)
    hidden.moderated_at = utcnow() - timedelta(days=1)
    _hidden_by_flags(db, campaign)  # readers', not a moderator's: it is in the flagged tab
    approve(db.session, moderator, make_comment(campaign, status=CommentStatus.PENDING))
    page = moderation_queue(db.session, campaign, QueueTab.HIDDEN)
    assert _ids(page) == [removed.id, hidden.id]
    assert queue_counts(db.session, campaign).hidden == 2


def test_an_unknown_tab_shows_the_pending_one(db):
    campaign = _campaign()
    pending = make_comment(campaign, status=CommentStatus.PENDING)
    page = moderation_queue(db.session, campaign, "everything")
    assert page.tab == QueueTab.PENDING
    assert _ids(page) == [pending.id]


def test_queue_pages(db):
    campaign = _campaign()
    now = utcnow()
    comments = []
    for n in range(5):
        comment = make_comment(campaign, status=CommentStatus.PENDING)
        comment.confirmed_at = now + timedelta(minutes=n)
        comments.append(comment)
    pages = [
        moderation_queue(db.session, campaign, QueueTab.PENDING, page=n, per_page=2)
        for n in (1, 2, 3)
    ]
    assert [_ids(p) for p in pages] == [
        [comments[0].id, comments[1].id],
        [comments[2].id, comments[3].id],
        [comments[4].id],
    ]
    assert {(p.pages, p.total) for p in pages} == {(3, 5)}
    beyond = moderation_queue(db.session, campaign, QueueTab.PENDING, page=9, per_page=2)
    assert beyond.page == 3
    assert moderation_queue(db.session, campaign, QueueTab.PENDING, page=0).page == 1


def test_campaign_comment_finds_only_confirmed_comments_of_the_campaign(db):
    campaign, other = _campaign(), _campaign()
    for status in (
        CommentStatus.PENDING,
        CommentStatus.VISIBLE,
        CommentStatus.HIDDEN,
        CommentStatus.REMOVED,
    ):
        comment = make_comment(campaign, status=status)
        assert campaign_comment(db.session, campaign, comment.id).id == comment.id
    unconfirmed = make_comment(campaign, status=CommentStatus.UNCONFIRMED)
    elsewhere = make_comment(other)
    for comment_id in (unconfirmed.id, elsewhere.id, 999_999):
        with pytest.raises(NotModeratable):
            campaign_comment(db.session, campaign, comment_id)


# Actions: which states each one applies to

# (status, open flags, hidden by flags) -> whether each action applies
STATES = {
    "pending": (CommentStatus.PENDING, 0, False),
    "visible": (CommentStatus.VISIBLE, 0, False),
    "flagged": (CommentStatus.VISIBLE, 2, False),
    "hidden": (CommentStatus.HIDDEN, 0, False),
    "hidden_by_flags": (CommentStatus.HIDDEN, 3, True),
    "removed": (CommentStatus.REMOVED, 0, False),
    "unconfirmed": (CommentStatus.UNCONFIRMED, 0, False),
}
APPLIES = {
    "approve": {"pending", "flagged", "hidden", "hidden_by_flags", "removed"},
    "hide": {"visible", "flagged", "hidden_by_flags"},
    "remove": {"pending", "visible", "flagged", "hidden", "hidden_by_flags"},
}
ACTIONS = {"approve": approve, "hide": hide, "remove": remove}
AFTER = {
    "approve": CommentStatus.VISIBLE,
    "hide": CommentStatus.HIDDEN,
    "remove": CommentStatus.REMOVED,
}


def _in_state(db, campaign, state: str) -> Comment:
    status, flags, by_flags = STATES[state]
    comment = make_comment(campaign, status=status)
    for n in range(flags):
        db.session.add(CommentFlag(comment_id=comment.id, reader=f"r{n}", reason=FlagReason.SPAM))
    comment.flag_count, comment.hidden_by_flags = flags, by_flags
    db.session.commit()
    return comment


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_each_action_applies_to_its_states_only(db, action, state):
    campaign = _campaign()
    moderator = _moderator(campaign)
    comment = _in_state(db, campaign, state)
    before = comment.status
    if state in APPLIES[action]:
        ACTIONS[action](db.session, moderator, comment)
        db.session.commit()
        stored = _reload(db, comment)
        assert stored.status == AFTER[action]
        assert (stored.flag_count, stored.hidden_by_flags) == (0, False)
        assert stored.moderated_by_id == moderator.id
        assert stored.moderated_at is not None
        open_flags = db.session.scalar(
            select(func.count()).select_from(CommentFlag).where(CommentFlag.resolved_at.is_(None))
        )
        assert open_flags == 0
        [entry] = _audit(db, campaign)
        assert entry.action == f"comment.{action}"
        assert entry.actor_id == moderator.id
        assert entry.actor_email == moderator.email
        assert entry.details == {
            "comment": comment.id,
            "author": comment.author_name,
            "from": before.value,
            "to": AFTER[action].value,
        }
    else:
        with pytest.raises(NotModeratable):
            ACTIONS[action](db.session, moderator, comment)
        db.session.rollback()
        stored = _reload(db, comment)
        assert stored.status == before
        assert stored.moderated_at is None
        assert _audit(db) == []


def test_approving_a_pending_comment_publishes_it(db):
    campaign = _campaign()
    campaign.comment_policy = CommentPolicy.PRE_MODERATED
    comment = make_comment(campaign, status=CommentStatus.PENDING)
    assert discussion(db.session, campaign).threads == []
    approve(db.session, _moderator(campaign), comment)
    assert discussion(db.session, campaign).comment_ids == [comment.id]
    assert shown_count(db.session, campaign) == 1


def test_hiding_keeps_the_place_and_the_replies(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    reply = make_comment(campaign, reply_to=comment)
    hide(db.session, _moderator(campaign), comment)
    [thread] = discussion(db.session, campaign).threads
    assert thread.comment.status == CommentStatus.HIDDEN
    assert [c.id for c in thread.replies] == [reply.id]
    assert shown_count(db.session, campaign) == 1


def test_removing_keeps_the_replies(db):
    campaign = _campaign()
    comment = make_comment(campaign)
    reply = make_comment(campaign, reply_to=comment)
    remove(db.session, _moderator(campaign), comment)
    db.session.commit()
    assert _reload(db, reply).status == CommentStatus.VISIBLE
    assert discussion(db.session, campaign).comment_ids == [comment.id, reply.id]


def test_an_action_resolves_only_the_comments_own_flags(db):
    campaign = _campaign()
    comment = _flag(db, make_comment(campaign), "r1")
    other = _flag(db, make_comment(campaign), "r1")
    approve(db.session, _moderator(campaign), comment)
    db.session.commit()
    assert _reload(db, other).flag_count == 1
    open_flags = db.session.scalars(
        select(CommentFlag.comment_id).where(CommentFlag.resolved_at.is_(None))
    ).all()
    assert open_flags == [other.id]


def test_approve_then_hide_then_remove_is_audited_in_order(db):
    campaign = _campaign()
    moderator = _moderator(campaign)
    comment = make_comment(campaign, status=CommentStatus.PENDING, author_name="Ann")
    approve(db.session, moderator, comment)
    hide(db.session, moderator, comment)
    remove(db.session, moderator, comment)
    db.session.commit()
    entries = _audit(db, campaign)
    assert [(e.action, e.details["from"], e.details["to"]) for e in entries] == [
        ("comment.approve", "pending", "visible"),
        ("comment.hide", "visible", "hidden"),
        ("comment.remove", "hidden", "removed"),
    ]
    assert {e.details["author"] for e in entries} == {"Ann"}


def test_a_rolled_back_action_leaves_no_audit_entry(db):
    campaign = _campaign()
    moderator = _moderator(campaign)
    comment = make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()
    approve(db.session, moderator, comment)
    db.session.rollback()
    assert _audit(db) == []
    assert _reload(db, comment).status == CommentStatus.PENDING


# Blocking an author


def test_block_author_blocks_hides_and_withdraws_what_waits(db):
    campaign = _campaign()
    moderator = _moderator(campaign)
    comment = _flag(
        db, make_comment(campaign, email="boris@example.org", author_name="Boris"), "r1"
    )
    pending = make_comment(campaign, email="boris@example.org", status=CommentStatus.PENDING)
    unconfirmed = make_comment(
        campaign, email="boris@example.org", status=CommentStatus.UNCONFIRMED
    )
    earlier = make_comment(campaign, email="boris@example.org")
    elsewhere = make_comment(_campaign(), email="boris@example.org", status=CommentStatus.PENDING)
    someone_else = make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()

    block = block_author(db.session, moderator, comment)
    db.session.commit()

    assert (block.campaign_id, block.email_key) == (campaign.id, "boris@example.org")
    assert (block.author_name, block.created_by_id) == ("Boris", moderator.id)
    stored = _reload(db, comment)
    assert stored.status == CommentStatus.HIDDEN
    assert (stored.flag_count, stored.hidden_by_flags) == (0, False)
    assert stored.moderated_by_id == moderator.id
    for withdrawn in (pending, unconfirmed):
        stored = _reload(db, withdrawn)
        assert stored.status == CommentStatus.REMOVED
        assert stored.moderated_by_id == moderator.id
    # What was published before stays, for a moderator to judge one by one.
    assert _reload(db, earlier).status == CommentStatus.VISIBLE
    assert _reload(db, elsewhere).status == CommentStatus.PENDING
    assert _reload(db, someone_else).status == CommentStatus.PENDING
    [entry] = _audit(db, campaign)
    assert entry.action == "comment.block"
    assert entry.actor_id == moderator.id
    assert entry.details == {"comment": comment.id, "author": "Boris", "withdrawn": 2}
    assert "boris@example.org" not in str(entry.details)


def test_blocking_from_a_pending_comment_removes_it_rather_than_showing_it_hidden(db):
    # A comment no reader ever saw must not appear as "hidden by a moderator".
    campaign = _campaign()
    campaign.comment_policy = CommentPolicy.PRE_MODERATED
    comment = make_comment(campaign, status=CommentStatus.PENDING)
    block_author(db.session, _moderator(campaign), comment)
    db.session.commit()
    assert _reload(db, comment).status == CommentStatus.REMOVED
    assert discussion(db.session, campaign).threads == []
    assert queue_counts(db.session, campaign).pending == 0


def test_blocking_from_a_removed_comment_leaves_it_removed(db):
    campaign = _campaign()
    comment = make_comment(campaign, status=CommentStatus.REMOVED)
    block_author(db.session, _moderator(campaign), comment)
    db.session.commit()
    assert _reload(db, comment).status == CommentStatus.REMOVED
    assert db.session.scalar(select(func.count()).select_from(CommentBlock)) == 1


def test_a_blocked_author_can_no_longer_post_under_any_spelling(db):
    campaign = _campaign()
    comment = make_comment(campaign, email="alice@gmail.com", email_key="alice@gmail.com")
    block_author(db.session, _moderator(campaign), comment)
    db.session.commit()
    with pytest.raises(CommentRejected) as excinfo:
        _post(db, campaign, email="A.Lice+again@googlemail.com")
    assert excinfo.value.reason == "blocked"
    _post(db, _campaign(), email="alice@gmail.com")  # other campaigns are not concerned


def test_a_blocked_signers_reason_does_not_become_a_comment(db):
    campaign = _campaign()
    comment = make_comment(campaign, email="sam@example.org")
    block_author(db.session, _moderator(campaign), comment)
    data = SignatureData(
        email="sam@example.org",
        full_name="Sam Signer",
        country="FR",
        reason="A reason long enough to be a comment.",
        is_public=True,
    )
    signature = signing.sign(db.session, campaign, data, "en").signature
    signing.confirm(db.session, signing.confirmation_token(signature))
    db.session.commit()
    assert (
        db.session.scalar(
            select(func.count()).select_from(Comment).where(Comment.signature_id.is_not(None))
        )
        == 0
    )


def test_a_blocked_authors_unconfirmed_comment_stays_removed_after_its_link(db):
    from campaign.services.comments import confirm_comment, confirmation_token

    campaign = _campaign()
    result = _post(db, campaign, email="boris@example.org")
    token = confirmation_token(result.comment)
    block_author(
        db.session, _moderator(campaign), make_comment(campaign, email="boris@example.org")
    )
    db.session.commit()
    assert confirm_comment(db.session, campaign, token).status == CommentStatus.REMOVED


def test_blocking_twice_keeps_one_block(db):
    campaign = _campaign()
    moderator = _moderator(campaign)
    first = make_comment(campaign, email="boris@example.org", author_name="Boris")
    second = make_comment(campaign, email="boris@example.org", author_name="Boris B.")
    assert (
        block_author(db.session, moderator, first).id
        == block_author(db.session, moderator, second).id
    )
    db.session.commit()
    [block] = blocks(db.session, campaign)
    assert block.author_name == "Boris"
    assert [e.action for e in _audit(db, campaign)] == ["comment.block", "comment.block"]


def test_an_erased_author_cannot_be_blocked(db):
    campaign = _campaign()
    comment = make_comment(campaign, email_key="", status=CommentStatus.REMOVED)
    with pytest.raises(NotModeratable):
        block_author(db.session, _moderator(campaign), comment)


def test_blocks_are_listed_newest_first_per_campaign(db):
    campaign, other = _campaign(), _campaign()
    moderator = _moderator(campaign)
    first = block_author(db.session, moderator, make_comment(campaign, author_name="First"))
    second = block_author(db.session, moderator, make_comment(campaign, author_name="Second"))
    block_author(db.session, moderator, make_comment(other, author_name="Elsewhere"))
    first.created_at = utcnow() - timedelta(days=1)
    assert [b.id for b in blocks(db.session, campaign)] == [second.id, first.id]


def test_unblock_lets_the_author_comment_again(db):
    campaign = _campaign()
    moderator = _moderator(campaign)
    comment = make_comment(campaign, email="alice@example.org", author_name="Alice A.")
    block = block_author(db.session, moderator, comment)
    db.session.commit()
    unblock(db.session, moderator, campaign, block.id)
    db.session.commit()
    assert blocks(db.session, campaign) == []
    entry = _audit(db, campaign)[-1]
    assert entry.action == "comment.unblock"
    assert entry.details == {"author": "Alice A."}
    assert _post(db, campaign, email="alice@example.org").comment.id is not None
    # What the block hid stays hidden: unblocking is not approving.
    assert _reload(db, comment).status == CommentStatus.HIDDEN


def test_unblock_refuses_another_campaigns_block_or_none(db):
    campaign, other = _campaign(), _campaign()
    moderator = _moderator(campaign)
    theirs = block_author(db.session, moderator, make_comment(other))
    for block_id in (theirs.id, 999_999):
        with pytest.raises(NotModeratable):
            unblock(db.session, moderator, campaign, block_id)
    assert [b.id for b in blocks(db.session, other)] == [theirs.id]


# The discussion policy


def test_set_policy_changes_it_and_is_audited(db):
    campaign = _campaign()
    owner = _moderator(campaign, "owner")
    assert set_policy(db.session, owner, campaign, CommentPolicy.PRE_MODERATED) is True
    db.session.commit()
    db.session.expire_all()
    assert campaign.comment_policy == CommentPolicy.PRE_MODERATED
    [entry] = _audit(db, campaign)
    assert entry.action == "comment.policy"
    assert entry.actor_id == owner.id
    assert entry.details == {"changes": {"comment_policy": ["post", "pre"]}}


def test_set_policy_accepts_the_value_as_text(db):
    campaign = _campaign()
    assert set_policy(db.session, _moderator(campaign, "owner"), campaign, "off") is True
    assert campaign.comment_policy == CommentPolicy.OFF


def test_setting_the_same_policy_changes_nothing(db):
    campaign = _campaign()
    assert set_policy(db.session, _moderator(campaign), campaign, CommentPolicy.POST_MODERATED) is (
        False
    )
    assert _audit(db) == []


def test_an_unknown_policy_is_refused(db):
    campaign = _campaign()
    with pytest.raises(ValueError, match="everything"):
        set_policy(db.session, _moderator(campaign), campaign, "everything")
    assert campaign.comment_policy == CommentPolicy.POST_MODERATED


def test_turning_pre_moderation_off_leaves_waiting_comments_for_a_moderator(db):
    campaign = _campaign()
    owner = _moderator(campaign, "owner")
    set_policy(db.session, owner, campaign, CommentPolicy.PRE_MODERATED)
    pending = make_comment(campaign, status=CommentStatus.PENDING)
    set_policy(db.session, owner, campaign, CommentPolicy.POST_MODERATED)
    assert _reload(db, pending).status == CommentStatus.PENDING
    assert [e.details["changes"]["comment_policy"] for e in _audit(db, campaign)] == [
        ["post", "pre"],
        ["pre", "post"],
    ]


# Alerts to the team


def _alerts(db) -> list[OutboxMessage]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "moderation_alert")
            .order_by(OutboxMessage.id)
        )
    )


def _team(campaign):
    """An owner, an editor and a moderator who reads Russian."""
    return [
        _moderator(campaign, "owner", email="olga@example.org", name="Olga"),
        _moderator(campaign, "editor", email="ed@example.org", name="Ed"),
        _moderator(campaign, "moderator", email="mo@example.org", name="Mo", language="ru"),
    ]


def test_nothing_new_no_alert(db):
    campaign = _campaign()
    _team(campaign)
    make_comment(campaign)  # published comments need no moderator
    make_comment(campaign, status=CommentStatus.UNCONFIRMED)  # nor do unconfirmed ones
    # Flags a moderator has already seen to are not news.
    approve(db.session, _moderator(campaign), _flag(db, make_comment(campaign), "r1", "r2"))
    db.session.commit()
    assert send_moderation_alerts(db.session) == 0
    assert _alerts(db) == []
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).moderation_alerted_at is None


def test_an_alert_goes_to_each_team_member_in_their_language(db):
    campaign = _campaign(slug="talk", languages=("en", "ru"))
    olga, ed, mo = _team(campaign)
    outsider = make_organizer(email="admin@example.org", is_admin=True)
    make_comment(campaign, status=CommentStatus.PENDING)
    make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()

    assert send_moderation_alerts(db.session) == 1

    messages = {m.to_email: m for m in _alerts(db)}
    assert set(messages) == {olga.email, ed.email, mo.email}
    assert outsider.email not in messages
    assert messages["olga@example.org"].language == "en"
    assert messages["olga@example.org"].to_name == "Olga"
    assert campaign.translation("en").title in messages["olga@example.org"].subject
    assert "2 new comments wait for approval." in messages["olga@example.org"].text_body
    assert "http://campaign.test/admin/c/talk/comments?tab=pending" in (
        messages["olga@example.org"].text_body
    )
    russian = messages["mo@example.org"]
    assert russian.language == "ru"
    assert campaign.translation("ru").title in russian.subject
    assert campaign.translation("en").title not in russian.subject


def test_a_russian_alert_is_translated(db):
    campaign = _campaign(title="Aleppo")
    _moderator(campaign, email="en@example.org", language="en")
    _moderator(campaign, email="ru@example.org", language="ru")
    make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()
    send_moderation_alerts(db.session)
    messages = {m.to_email: m for m in _alerts(db)}
    assert CYRILLIC.search(messages["ru@example.org"].subject), messages["ru@example.org"].subject
    assert CYRILLIC.search(messages["ru@example.org"].text_body)
    assert not CYRILLIC.search(messages["en@example.org"].subject)


def test_an_alert_about_flags_links_to_the_flagged_tab(db):
    campaign = _campaign(slug="talk")
    _moderator(campaign, email="mo@example.org")
    _flag(db, make_comment(campaign), "r1", "r2")
    db.session.commit()
    assert send_moderation_alerts(db.session) == 1
    [message] = _alerts(db)
    assert "2 new flags from readers." in message.text_body
    assert "http://campaign.test/admin/c/talk/comments?tab=flagged" in message.text_body


def test_disabled_members_and_other_campaigns_teams_get_no_alert(db):
    campaign, quiet = _campaign(), _campaign()
    _moderator(campaign, email="active@example.org")
    _moderator(campaign, email="gone@example.org", is_disabled=True)
    _moderator(quiet, email="quiet@example.org")
    make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()
    assert send_moderation_alerts(db.session) == 1
    assert [m.to_email for m in _alerts(db)] == ["active@example.org"]


def test_each_campaign_alerts_its_own_team(db):
    water, fire = _campaign(), _campaign()
    _moderator(water, email="water@example.org")
    _moderator(fire, email="fire@example.org")
    make_comment(water, status=CommentStatus.PENDING)
    _flag(db, make_comment(fire), "r1")
    db.session.commit()
    assert send_moderation_alerts(db.session) == 2
    messages = {m.to_email: m for m in _alerts(db)}
    assert "waits for approval" in messages["water@example.org"].text_body
    assert "new flag from readers" in messages["fire@example.org"].text_body
    assert "waits for approval" not in messages["fire@example.org"].text_body


def test_no_alert_when_the_discussion_is_off(db):
    campaign = _campaign()
    _moderator(campaign)
    make_comment(campaign, status=CommentStatus.PENDING)
    campaign.comment_policy = CommentPolicy.OFF
    db.session.commit()
    assert send_moderation_alerts(db.session) == 0
    assert _alerts(db) == []


def test_at_most_one_alert_an_hour_then_again_when_something_new_came(db):
    campaign = _campaign()
    _moderator(campaign, email="mo@example.org")
    make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()
    start = utcnow()
    assert send_moderation_alerts(db.session, now=start) == 1

    # Within the hour: nothing more, however much comes in.
    make_comment(campaign, status=CommentStatus.PENDING)
    _flag(db, make_comment(campaign), "r1")
    db.session.commit()
    assert send_moderation_alerts(db.session, now=start + timedelta(minutes=30)) == 0
    assert send_moderation_alerts(db.session, now=start + timedelta(minutes=59)) == 0
    assert len(_alerts(db)) == 1

    # An hour on: one more, about what is new since the last one.
    assert send_moderation_alerts(db.session, now=start + timedelta(minutes=61)) == 1
    first, second = _alerts(db)
    assert "1 new comment waits for approval." in second.text_body
    assert "1 new flag from readers." in second.text_body
    assert "waiting for approval: 2" in second.text_body
    assert "flagged: 1" in second.text_body


def test_no_second_alert_an_hour_on_without_anything_new(db):
    campaign = _campaign()
    _moderator(campaign)
    make_comment(campaign, status=CommentStatus.PENDING)  # still waiting, but not new
    db.session.commit()
    start = utcnow()
    assert send_moderation_alerts(db.session, now=start) == 1
    assert send_moderation_alerts(db.session, now=start + timedelta(hours=2)) == 0
    assert len(_alerts(db)) == 1


def test_two_runs_back_to_back_send_once(db):
    campaign = _campaign()
    _team(campaign)
    make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()
    now = utcnow()
    assert send_moderation_alerts(db.session, now=now) == 1
    assert send_moderation_alerts(db.session, now=now) == 0
    assert send_moderation_alerts(db.session) == 0
    assert len(_alerts(db)) == 3


def test_the_alert_time_is_kept_on_the_campaign(db):
    campaign = _campaign()
    _moderator(campaign)
    make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()
    now = utcnow()
    send_moderation_alerts(db.session, now=now)
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).moderation_alerted_at == now


def _run_in_threads(app, db, count: int, work) -> tuple[list, list[BaseException]]:
    """Run `work(index)` in `count` threads released at once; returns results and errors."""
    db.session.close()
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                results[index] = work(index)
        except BaseException as exc:  # collected: the test asserts there are none
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return results, errors


@pytest.mark.parametrize("workers", [2, 6])
def test_simultaneous_runs_send_once(app, db, workers):
    campaigns = [_campaign() for _ in range(3)]
    for campaign in campaigns:
        _moderator(campaign)
        make_comment(campaign, status=CommentStatus.PENDING)
    db.session.commit()
    now = utcnow()

    def work(_index):
        sent = send_moderation_alerts(_db.session, now=now)
        _db.session.commit()
        return sent

    results, errors = _run_in_threads(app, db, workers, work)
    assert errors == []
    assert sum(results) == 3
    assert len(_alerts(db)) == 3


def test_a_run_does_not_alert_a_campaign_another_run_alerted_meanwhile(app, db):
    """Two workers: while one is busy with the first campaign, the other alerts the second.

    The first must not then alert the second campaign again within the hour.
    """
    first, second = _campaign(), _campaign()
    for campaign in (first, second):
        _moderator(campaign)
        _flag(db, make_comment(campaign), "r1")
    db.session.commit()
    campaign_ids = (first.id, second.id)
    start = utcnow()
    other_runs: list[int] = []

    def other_worker(session):
        if other_runs:
            return
        # In an app context of its own: its own session and connection, as another process.
        with app.app_context():
            other_runs.append(send_moderation_alerts(_db.session, now=start - timedelta(minutes=1)))
            _db.session.commit()
            # Something new arrives after the other worker's alert.
            for campaign_id in campaign_ids:
                comment = make_comment(_db.session.get(Campaign, campaign_id))
                _flag(_db, comment, "r9")
            _db.session.commit()

    session = _db.session()
    event.listen(session, "after_commit", other_worker)
    try:
        sent = send_moderation_alerts(session, now=start)
    finally:
        event.remove(session, "after_commit", other_worker)
    assert other_runs == [1]
    assert sent == 1
    # One alert per campaign: the other worker's for one, this run's for the other.
    per_campaign = db.session.execute(
        select(Campaign.id, Campaign.moderation_alerted_at).order_by(Campaign.id)
    ).all()
    assert len(_alerts(db)) == 2
    assert sorted(at for _, at in per_campaign) == [start - timedelta(minutes=1), start]


def test_a_blocked_authors_unconfirmed_comment_can_never_be_approved(db, app):
    from campaign.models import CommentStatus
    from campaign.services import moderation
    from campaign.services.errors import NotModeratable
    from tests.factories import add_member, make_campaign, make_comment, make_organizer

    campaign = make_campaign()
    moderator = make_organizer()
    add_member(campaign, moderator, "moderator")
    shown = make_comment(campaign, email="troll@example.org", body="Visible and abusive.")
    waiting = make_comment(
        campaign,
        email="troll@example.org",
        body="Never confirmed",
        status=CommentStatus.UNCONFIRMED,
    )
    with app.test_request_context():
        moderation.block_author(db.session, moderator, shown)
        assert waiting.status == CommentStatus.REMOVED
        with pytest.raises(NotModeratable):
            moderation.approve(db.session, moderator, waiting)
    assert waiting.status == CommentStatus.REMOVED
