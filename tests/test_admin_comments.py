"""The moderators' screens (campaign/admin/comments.py), the policy setting, the alert email and
what runs it (the worker, `flask comments alert`). Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from campaign.admin import comments as admin_comments
from campaign.extensions import db as _db
from campaign.mail.worker import run_polling_worker
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
    Role,
)
from campaign.models.types import utcnow
from campaign.services import moderation
from campaign.services.errors import NotModeratable
from tests.conftest import test_config as config_for
from tests.factories import (
    add_member,
    login,
    make_campaign,
    make_comment,
    make_organizer,
    make_signature,
)

SECRET_TITLE = "Moderation secret title"
QUEUE = "/admin/c/talk/comments"
# Commenters' addresses: no page of the panel may show anything of them.
COMMENTER_DOMAIN = "commenters.test"


@pytest.fixture
def app_config(request, database_url, sendgrid):
    """Settings for `app`; a test changes some: `parametrize("app_config", […], indirect=True)`."""
    return config_for(database_url, sendgrid, **getattr(request, "param", {}))


class Board:
    """A campaign with a full team, and another campaign with a moderator of its own."""

    def __init__(self, db):
        self.campaign = make_campaign(slug="talk", title=SECRET_TITLE)
        self.owner = make_organizer(email="olga@example.org", name="Olga Owner")
        self.editor = make_organizer(email="ed@example.org", name="Ed Editor")
        self.moderator = make_organizer(email="mo@example.org", name="Mo Moderator")
        add_member(self.campaign, self.owner, Role.OWNER)
        add_member(self.campaign, self.editor, Role.EDITOR)
        add_member(self.campaign, self.moderator, Role.MODERATOR)
        self.other = make_campaign(slug="elsewhere", title="Elsewhere title")
        self.outsider = make_organizer(email="out@example.org", name="Otto Outsider")
        add_member(self.other, self.outsider, Role.MODERATOR)
        db.session.commit()

    def comment(self, campaign=None, *, author_name: str, **fields) -> Comment:
        """A comment by `author_name`, whose address is at COMMENTER_DOMAIN."""
        fields.setdefault("email", f"{author_name.lower().replace(' ', '.')}@{COMMENTER_DOMAIN}")
        return make_comment(campaign or self.campaign, author_name=author_name, **fields)


@pytest.fixture
def board(db) -> Board:
    return Board(db)


def flag(db, comment: Comment, *reasons: FlagReason, hidden: bool = False) -> Comment:
    """Readers' open flags on a comment, as services.comments.flag_comment leaves them."""
    for n, reason in enumerate(reasons):
        db.session.add(
            CommentFlag(comment_id=comment.id, reader=f"reader-{comment.id}-{n}", reason=reason)
        )
    comment.flag_count = len(reasons)
    if hidden:
        comment.status, comment.hidden_by_flags = CommentStatus.HIDDEN, True
    db.session.flush()
    return comment


def moderated(comment: Comment, by, status: CommentStatus, ago=timedelta(hours=1)) -> Comment:
    comment.status = status
    comment.moderated_at = utcnow() - ago
    comment.moderated_by_id = by.id
    return comment


def status_of(db, comment_id: int) -> CommentStatus:
    db.session.rollback()
    return db.session.get(Comment, comment_id).status


def audit_actions(db, campaign) -> list[tuple[str, dict]]:
    db.session.rollback()
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.campaign_id == campaign.id).order_by(AuditEntry.id)
    )
    return [(entry.action, entry.details) for entry in entries]


def items(html: str) -> dict[int, str]:
    """The queue's items by comment id, each as its HTML."""
    return {
        int(m.group(1)): m.group(2)
        for m in re.finditer(
            r'<li class="card queue-item" id="comment-(\d+)">(.*?)</li>', html, re.S
        )
    }


def flashes(html: str) -> list[str]:
    return re.findall(r'<p class="flash flash--\w+" role="status">(.*?)</p>', html, re.S)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def buttons(item_html: str) -> list[str]:
    """The actions offered on one item: button texts and link texts, in order."""
    actions = item_html.split('class="actions"', 1)
    if len(actions) == 1:
        return []
    return [
        text.strip()
        for text in re.findall(r"<(?:button|a)\b[^>]*>([^<]*)</(?:button|a)>", actions[1])
    ]


def email_of(db, comment_id) -> str:
    return db.session.get(Comment, comment_id).email


# --- the queue --------------------------------------------------------------------------------


def test_each_tab_lists_its_comments_with_counts(client, db, board):
    pending = [
        board.comment(author_name=f"Pending {n}", status=CommentStatus.PENDING) for n in (1, 2)
    ]
    flagged = flag(db, board.comment(author_name="Flagged Visible"), FlagReason.SPAM)
    by_flags = flag(
        db,
        board.comment(author_name="Flagged Hidden"),
        FlagReason.ABUSE,
        FlagReason.ABUSE,
        FlagReason.VIOLENCE,
        hidden=True,
    )
    hidden = moderated(
        board.comment(author_name="Hidden Recent"), board.owner, CommentStatus.HIDDEN
    )
    removed = moderated(
        board.comment(author_name="Removed Recent"), board.owner, CommentStatus.REMOVED
    )
    moderated(
        board.comment(author_name="Hidden Long Ago"),
        board.owner,
        CommentStatus.HIDDEN,
        ago=timedelta(days=40),
    )
    board.comment(author_name="Plain Visible")
    board.comment(author_name="Never Confirmed", status=CommentStatus.UNCONFIRMED)
    board.comment(board.other, author_name="Other Campaign", status=CommentStatus.PENDING)
    db.session.commit()
    login(client, board.moderator)

    expected = {
        "pending": [c.id for c in pending],
        "flagged": [by_flags.id, flagged.id],  # most flags first
        "hidden": sorted([hidden.id, removed.id], reverse=True),
    }
    for tab, ids in expected.items():
        response = client.get(f"{QUEUE}?tab={tab}")
        assert response.status_code == 200
        html = response.text
        assert list(items(html)) == ids, tab
        # The tabs and their counts, the current one marked.
        tabs = re.findall(
            r'<a href="/admin/c/talk/comments\?tab=(\w+)"\s*(aria-current="page")?>'
            r'([^<]+)<span class="badge">(\d+)</span>',
            html,
        )
        assert [(name, label.strip(), count) for name, _, label, count in tabs] == [
            ("pending", "Waiting for approval", "2"),
            ("flagged", "Flagged", "2"),
            ("hidden", "Recently hidden", "2"),
        ]
        assert [name for name, current, _, _ in tabs if current] == [tab]
        for name in ("Plain Visible", "Never Confirmed", "Other Campaign", "Hidden Long Ago"):
            assert name not in html

    # Without a tab, or with one that does not exist: the pending tab.
    for url in (QUEUE, f"{QUEUE}?tab=nonsense"):
        assert list(items(client.get(url).text)) == expected["pending"]


def test_an_item_shows_who_when_what_and_in_which_language(client, db, board):
    signature = make_signature(board.campaign, confirmed=True, full_name="Sam Signer")
    parent = board.comment(author_name="Paula Parent")
    reply = board.comment(
        author_name="Rory Replier",
        reply_to=parent,
        status=CommentStatus.PENDING,
        body="See https://example.org/facts and <b>this</b>.\nSecond line",
    )
    reason = board.comment(
        author_name="Sam Signer",
        signature_id=signature.id,
        status=CommentStatus.PENDING,
        language="ru",
        body="Потому что это важно для всех нас.",
    )
    unknown = board.comment(
        author_name="Una Unknown", status=CommentStatus.PENDING, language="unknown"
    )
    db.session.commit()
    login(client, board.moderator)

    html = client.get(QUEUE).text
    found = items(html)

    assert "Rory Replier" in found[reply.id]
    assert "Reply to Paula Parent" in found[reply.id]
    assert re.search(r'<time datetime="[^"]+">[^<]+</time>', found[reply.id])
    assert "Language: English" in found[reply.id]
    # The text as readers' text is shown everywhere: escaped, links made safe, lines kept.
    assert (
        '<a href="https://example.org/facts" rel="nofollow ugc noopener" target="_blank">'
        in found[reply.id]
    )
    assert "&lt;b&gt;this&lt;/b&gt;" in found[reply.id]
    assert "<b>this</b>" not in found[reply.id]
    assert "<br>" in found[reply.id]
    assert "Status: Waiting for approval" in found[reply.id]

    assert "reason for signing" in found[reason.id]
    assert "Reply to" not in found[reason.id]
    assert "Language: Russian" in found[reason.id]
    assert 'lang="ru" dir="ltr"' in found[reason.id]

    assert "Language: not recognised" in found[unknown.id]
    assert 'lang="unknown"' not in found[unknown.id]


def test_the_flagged_tab_shows_open_flags_by_reason_in_words(client, db, board):
    comment = flag(
        db,
        board.comment(author_name="Flo Flagged"),
        FlagReason.SPAM,
        FlagReason.OTHER,
        FlagReason.SPAM,
        FlagReason.VIOLENCE,
        FlagReason.ABUSE,
    )
    # A flag a moderator already reviewed is not counted again.
    db.session.add(
        CommentFlag(
            comment_id=comment.id, reader="old", reason=FlagReason.ABUSE, resolved_at=utcnow()
        )
    )
    db.session.commit()
    login(client, board.moderator)

    item = items(client.get(f"{QUEUE}?tab=flagged").text)[comment.id]

    flags = re.findall(r"<dt>([^<]+)</dt> <dd>(\d+)</dd>", item)
    assert flags == [
        ("Spam", "2"),
        ("Abuse or harassment", "1"),
        ("Incitement to violence", "1"),
        ("Something else", "1"),
    ]
    assert "Status: Visible" in item


@pytest.mark.parametrize(
    ("tab", "state", "offered"),
    [
        ("pending", "pending", ["Approve", "Remove…", "Block the author…"]),
        ("flagged", "flagged", ["Keep it visible", "Hide", "Remove…", "Block the author…"]),
        (
            "flagged",
            "hidden_by_flags",
            ["Make it visible again", "Hide", "Remove…", "Block the author…"],
        ),
        ("hidden", "hidden", ["Make it visible again", "Remove…", "Block the author…"]),
        ("hidden", "removed", ["Make it visible again", "Block the author…"]),
    ],
)
def test_only_the_actions_that_apply_are_offered(client, db, board, tab, state, offered):
    comment = board.comment(author_name="Casey Case")
    if state == "pending":
        comment.status = CommentStatus.PENDING
    elif state == "flagged":
        flag(db, comment, FlagReason.SPAM)
    elif state == "hidden_by_flags":
        flag(db, comment, FlagReason.SPAM, FlagReason.SPAM, FlagReason.SPAM, hidden=True)
    else:
        moderated(comment, board.owner, CommentStatus(state))
    db.session.commit()
    login(client, board.moderator)

    item = items(client.get(f"{QUEUE}?tab={tab}").text)[comment.id]

    assert buttons(item) == offered


STATES = [
    # (status, open flags, hidden by flags)
    (CommentStatus.PENDING, 0, False),
    (CommentStatus.VISIBLE, 0, False),
    (CommentStatus.VISIBLE, 2, False),
    (CommentStatus.HIDDEN, 0, False),
    (CommentStatus.HIDDEN, 3, True),
    (CommentStatus.REMOVED, 0, False),
    (CommentStatus.UNCONFIRMED, 0, False),
]


@pytest.mark.parametrize(("status", "flags", "by_flags"), STATES)
def test_the_offered_actions_are_exactly_those_the_service_accepts(
    db, board, status, flags, by_flags
):
    """The screen's rules mirror moderation.approve/hide/remove/block_author: hold them to it."""
    comment = board.comment(author_name="Mirror Case", status=status)
    comment.flag_count, comment.hidden_by_flags = flags, by_flags
    db.session.commit()
    offered = {
        "approve": admin_comments.can_approve,
        "hide": admin_comments.can_hide,
        "remove": admin_comments.can_remove,
        "block": admin_comments.can_block,
    }
    services = {
        "approve": moderation.approve,
        "hide": moderation.hide,
        "remove": moderation.remove,
        "block": moderation.block_author,
    }
    for action, service in services.items():
        comment = db.session.get(Comment, comment.id)
        shown = offered[action](comment)
        try:
            service(db.session, board.moderator, comment)
        except NotModeratable:
            accepted = False
        else:
            accepted = True
        db.session.rollback()
        assert shown == accepted, (action, status, flags, by_flags)


def test_an_empty_tab_says_so(client, db, board):
    login(client, board.moderator)
    messages = {
        "pending": "Nothing waits for approval.",
        "flagged": "No comment is flagged.",
        "hidden": "No comment was hidden or removed in the last 30 days.",
    }
    for tab, message in messages.items():
        html = client.get(f"{QUEUE}?tab={tab}").text
        assert f'<p class="empty">{message}</p>' in html
        assert items(html) == {}


def test_the_queue_is_paginated_and_keeps_the_tab(client, db, board, monkeypatch):
    monkeypatch.setattr(admin_comments, "PER_PAGE", 2)
    comments = [
        flag(db, board.comment(author_name=f"Many {n}"), *[FlagReason.SPAM] * (5 - n))
        for n in range(5)
    ]
    db.session.commit()
    login(client, board.moderator)

    html = client.get(f"{QUEUE}?tab=flagged&page=2").text

    assert list(items(html)) == [comments[2].id, comments[3].id]
    assert "Page 2 of 3" in html
    links = re.findall(r'<a href="([^"]+)" rel="(prev|next)">', html)
    queries = {rel: parse_qs(urlsplit(link.replace("&amp;", "&")).query) for link, rel in links}
    assert queries == {
        "prev": {"tab": ["flagged"], "page": ["1"]},
        "next": {"tab": ["flagged"], "page": ["3"]},
    }


def test_commenters_addresses_are_never_shown(client, db, board):
    pending = board.comment(author_name="Priya Private", status=CommentStatus.PENDING)
    flagged = flag(db, board.comment(author_name="Fred Private"), FlagReason.ABUSE)
    moderated(board.comment(author_name="Hana Private"), board.owner, CommentStatus.HIDDEN)
    db.session.commit()
    moderation.block_author(db.session, board.owner, flagged)
    db.session.commit()
    login(client, board.owner)

    pages = [
        f"{QUEUE}?tab=pending",
        f"{QUEUE}?tab=flagged",
        f"{QUEUE}?tab=hidden",
        f"{QUEUE}/{pending.id}/remove",
        f"{QUEUE}/{pending.id}/block",
        f"{QUEUE}/blocked",
    ]
    for url in pages:
        html = client.get(url).text
        assert COMMENTER_DOMAIN not in html, url
        assert email_of(db, pending.id) not in html


# --- actions ----------------------------------------------------------------------------------


def test_approve_makes_a_pending_comment_visible_and_is_audited(client, db, board):
    comment = board.comment(author_name="Ann Approved", status=CommentStatus.PENDING)
    db.session.commit()
    login(client, board.moderator)

    response = client.post(f"{QUEUE}/{comment.id}/approve?tab=pending")

    assert response.status_code == 302
    assert path_of(response.location) == f"{QUEUE}?tab=pending"
    assert status_of(db, comment.id) == CommentStatus.VISIBLE
    assert audit_actions(db, board.campaign) == [
        (
            "comment.approve",
            {"comment": comment.id, "author": "Ann Approved", "from": "pending", "to": "visible"},
        )
    ]
    html = client.get(response.location).text
    assert flashes(html) == ["The comment by Ann Approved is visible."]
    assert comment.id not in items(html)


def test_keeping_a_flagged_comment_resolves_its_flags(client, db, board):
    comment = flag(db, board.comment(author_name="Kim Kept"), FlagReason.OTHER, hidden=True)
    db.session.commit()
    login(client, board.moderator)

    response = client.post(f"{QUEUE}/{comment.id}/approve?tab=flagged")

    assert path_of(response.location) == f"{QUEUE}?tab=flagged"
    assert status_of(db, comment.id) == CommentStatus.VISIBLE
    assert db.session.get(Comment, comment.id).flag_count == 0
    assert items(client.get(f"{QUEUE}?tab=flagged").text) == {}


def test_hide_hides_and_is_audited(client, db, board):
    comment = flag(db, board.comment(author_name="Hugo Hidden"), FlagReason.SPAM)
    db.session.commit()
    login(client, board.moderator)

    response = client.post(f"{QUEUE}/{comment.id}/hide?tab=flagged")

    assert path_of(response.location) == f"{QUEUE}?tab=flagged"
    assert status_of(db, comment.id) == CommentStatus.HIDDEN
    assert [action for action, _ in audit_actions(db, board.campaign)] == ["comment.hide"]
    html = client.get(response.location).text
    assert flashes(html) == [
        "The comment by Hugo Hidden is hidden. Readers see that a moderator hid it."
    ]
    # Now under "Recently hidden", with who did it.
    item = items(client.get(f"{QUEUE}?tab=hidden").text)[comment.id]
    assert "Status: Hidden" in item
    assert "last moderated by Mo Moderator" in item


def test_remove_asks_first_then_removes(client, db, board):
    comment = board.comment(author_name="Rita Removed", body="Remove me, please.")
    flag(db, comment, FlagReason.SPAM)
    db.session.commit()
    login(client, board.moderator)

    queue = client.get(f"{QUEUE}?tab=flagged").text
    link = f'href="/admin/c/talk/comments/{comment.id}/remove?tab=flagged"'
    assert link in items(queue)[comment.id]

    page = client.get(f"{QUEUE}/{comment.id}/remove?tab=flagged")
    assert page.status_code == 200
    assert "Remove this comment by Rita Removed?" in page.text
    assert "Remove me, please." in page.text
    assert '<form method="post" novalidate>' in page.text
    assert 'href="/admin/c/talk/comments?tab=flagged">Cancel</a>' in page.text
    assert status_of(db, comment.id) == CommentStatus.VISIBLE  # asking changed nothing

    response = client.post(f"{QUEUE}/{comment.id}/remove?tab=flagged")

    assert path_of(response.location) == f"{QUEUE}?tab=flagged"
    assert status_of(db, comment.id) == CommentStatus.REMOVED
    assert [action for action, _ in audit_actions(db, board.campaign)] == ["comment.remove"]
    assert flashes(client.get(response.location).text) == [
        "The comment by Rita Removed is removed."
    ]


def test_block_asks_first_then_blocks_hides_and_withdraws(client, db, board):
    comment = flag(
        db,
        board.comment(author_name="Boris Blocked", email=f"boris@{COMMENTER_DOMAIN}"),
        FlagReason.ABUSE,
    )
    waiting = board.comment(
        author_name="Boris Blocked",
        email=f"boris@{COMMENTER_DOMAIN}",
        status=CommentStatus.PENDING,
    )
    db.session.commit()
    login(client, board.moderator)

    page = client.get(f"{QUEUE}/{comment.id}/block?tab=flagged")
    assert page.status_code == 200
    assert "Block Boris Blocked?" in page.text
    assert db.session.scalar(select(func.count()).select_from(CommentBlock)) == 0

    response = client.post(f"{QUEUE}/{comment.id}/block?tab=flagged")

    assert path_of(response.location) == f"{QUEUE}?tab=flagged"
    assert status_of(db, comment.id) == CommentStatus.HIDDEN
    assert status_of(db, waiting.id) == CommentStatus.REMOVED
    block = db.session.scalar(select(CommentBlock))
    assert (block.campaign_id, block.author_name) == (board.campaign.id, "Boris Blocked")
    assert audit_actions(db, board.campaign) == [
        (
            "comment.block",
            {"comment": comment.id, "author": "Boris Blocked", "withdrawn": 1},
        )
    ]
    assert flashes(client.get(response.location).text) == [
        "Boris Blocked can no longer comment on this campaign. Their comment is hidden, and any"
        " of theirs waiting for approval are removed."
    ]
    # The comment now shows under "Recently hidden", its author marked and not offered again.
    item = items(client.get(f"{QUEUE}?tab=hidden").text)[comment.id]
    assert "Author blocked" in item
    assert "Block the author…" not in buttons(item)


def test_after_an_action_the_moderator_is_back_on_the_same_tab_and_page(
    client, db, board, monkeypatch
):
    monkeypatch.setattr(admin_comments, "PER_PAGE", 1)
    comments = [
        flag(db, board.comment(author_name=f"Paged {n}"), *[FlagReason.SPAM] * (4 - n))
        for n in range(3)
    ]
    db.session.commit()
    login(client, board.moderator)

    html = client.get(f"{QUEUE}?tab=flagged&page=2").text
    assert list(items(html)) == [comments[1].id]
    action = f"/admin/c/talk/comments/{comments[1].id}/hide?tab=flagged&amp;page=2"
    assert f'action="{action}"' in html

    response = client.post(f"{QUEUE}/{comments[1].id}/hide?tab=flagged&page=2")

    assert path_of(response.location) == f"{QUEUE}?tab=flagged&page=2"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (CommentStatus.VISIBLE, "approve"),  # visible and unflagged: nothing to approve
        (CommentStatus.HIDDEN, "hide"),  # already hidden by a moderator
        (CommentStatus.REMOVED, "hide"),
        (CommentStatus.REMOVED, "remove"),
    ],
)
def test_an_action_that_does_not_apply_is_refused_and_changes_nothing(
    client, db, board, status, action
):
    comment = board.comment(author_name="Stale Page")
    if status != CommentStatus.VISIBLE:
        moderated(comment, board.owner, status)
    db.session.commit()
    login(client, board.moderator)

    response = client.post(f"{QUEUE}/{comment.id}/{action}?tab=hidden")

    assert response.status_code == 302
    assert path_of(response.location) == f"{QUEUE}?tab=hidden"
    assert status_of(db, comment.id) == status
    assert audit_actions(db, board.campaign) == []
    [message] = flashes(client.get(response.location).text)
    assert message.startswith("That does not apply to this comment as it is now")
    assert message.endswith("Nothing was changed.")


def test_asking_to_remove_a_removed_comment_says_so(client, db, board):
    comment = moderated(board.comment(author_name="Gone"), board.owner, CommentStatus.REMOVED)
    db.session.commit()
    login(client, board.moderator)

    response = client.get(f"{QUEUE}/{comment.id}/remove?tab=hidden")

    assert path_of(response.location) == f"{QUEUE}?tab=hidden"
    [message] = flashes(client.get(response.location).text)
    assert "(Removed)" in message


def test_comments_of_another_campaign_or_unconfirmed_are_not_found(client, db, board):
    theirs = board.comment(board.other, author_name="Theirs", status=CommentStatus.PENDING)
    unconfirmed = board.comment(author_name="Unsure", status=CommentStatus.UNCONFIRMED)
    db.session.commit()
    login(client, board.moderator)

    for comment in (theirs, unconfirmed):
        for action in ("approve", "hide", "remove", "block"):
            response = client.post(f"{QUEUE}/{comment.id}/{action}")
            assert response.status_code == 404, action
        assert client.get(f"{QUEUE}/{comment.id}/remove").status_code == 404
    assert status_of(db, theirs.id) == CommentStatus.PENDING
    assert status_of(db, unconfirmed.id) == CommentStatus.UNCONFIRMED
    assert audit_actions(db, board.other) == []


def test_a_moderator_of_another_campaign_gets_404(client, db, board):
    comment = board.comment(author_name="Private Matter", status=CommentStatus.PENDING)
    db.session.commit()
    login(client, board.outsider)

    for method, url in [
        ("GET", QUEUE),
        ("GET", f"{QUEUE}/blocked"),
        ("POST", f"{QUEUE}/{comment.id}/approve"),
        ("POST", f"{QUEUE}/{comment.id}/remove"),
        ("POST", f"{QUEUE}/policy"),
    ]:
        response = client.open(url, method=method, data={"policy": "off"})
        assert response.status_code == 404, url
        assert SECRET_TITLE not in response.text
        assert "Private Matter" not in response.text
    assert status_of(db, comment.id) == CommentStatus.PENDING


def test_the_nav_has_comments_after_signatures(client, db, board):
    login(client, board.owner)
    html = client.get(f"{QUEUE}/blocked").text
    nav = html.split('aria-label="Campaign menu"', 1)[1].split("</nav>", 1)[0]
    labels = re.findall(r">([^<>]+)</a>", nav)
    assert labels.index("Comments") == labels.index("Signatures") + 1
    assert re.search(r'href="/admin/c/talk/comments"\s*aria-current="page">Comments<', nav)

    login(client, board.moderator)
    nav = client.get(QUEUE).text.split('aria-label="Campaign menu"', 1)[1]
    assert ">Comments</a>" in nav


# --- blocked authors --------------------------------------------------------------------------


def test_blocked_authors_are_listed_and_can_be_unblocked(client, db, board):
    first = board.comment(author_name="Bea Blocked")
    second = board.comment(author_name="Bob Blocked")
    db.session.commit()
    moderation.block_author(db.session, board.owner, first)
    moderation.block_author(db.session, board.moderator, second)
    db.session.commit()
    login(client, board.moderator)

    queue = client.get(QUEUE).text
    assert 'href="/admin/c/talk/comments/blocked">Blocked authors: 2</a>' in queue
    html = client.get(f"{QUEUE}/blocked").text
    rows = re.findall(r'<tr id="block-(\d+)">(.*?)</tr>', html, re.S)
    assert [re.search(r'<th scope="row">([^<]+)</th>', row).group(1) for _, row in rows] == [
        "Bob Blocked",
        "Bea Blocked",
    ]
    assert "Mo Moderator" in rows[0][1]
    assert "Olga Owner" in rows[1][1]
    assert "<time datetime=" in rows[0][1]
    assert 'aria-label="Unblock Bob Blocked"' in rows[0][1]

    block_id = int(rows[0][0])
    response = client.post(f"{QUEUE}/blocked/{block_id}/unblock")

    assert path_of(response.location) == f"{QUEUE}/blocked"
    html = client.get(response.location).text
    assert flashes(html) == ["Bob Blocked can comment on this campaign again."]
    assert f'<tr id="block-{block_id}">' not in html
    assert f'<tr id="block-{rows[1][0]}">' in html
    assert db.session.get(CommentBlock, block_id) is None
    assert audit_actions(db, board.campaign)[-1] == ("comment.unblock", {"author": "Bob Blocked"})

    # Again (a stale page): a message, nothing changes.
    response = client.post(f"{QUEUE}/blocked/{block_id}/unblock")
    assert flashes(client.get(response.location).text) == [
        "That author is not blocked any more. Nothing was changed."
    ]


def test_a_block_of_another_campaign_cannot_be_lifted_from_here(client, db, board):
    theirs = board.comment(board.other, author_name="Other Block")
    db.session.commit()
    block = moderation.block_author(db.session, board.outsider, theirs)
    db.session.commit()
    login(client, board.moderator)

    assert "Other Block" not in client.get(f"{QUEUE}/blocked").text
    response = client.post(f"{QUEUE}/blocked/{block.id}/unblock")

    assert response.status_code == 302
    assert db.session.get(CommentBlock, block.id) is not None


def test_no_blocks_says_so(client, db, board):
    login(client, board.moderator)
    assert '<p class="empty">Nobody is blocked.</p>' in client.get(f"{QUEUE}/blocked").text


# --- the policy -------------------------------------------------------------------------------


def test_an_editor_changes_the_policy(client, db, board):
    login(client, board.editor)
    html = client.get(QUEUE).text
    assert "Discussion: <strong>Post-moderated</strong>." in html
    assert re.search(r'<select[^>]*name="policy"', html)
    assert 'action="/admin/c/talk/comments/policy?tab=pending"' in html

    response = client.post(f"{QUEUE}/policy?tab=pending", data={"policy": "pre"})

    assert path_of(response.location) == f"{QUEUE}?tab=pending"
    db.session.rollback()
    assert db.session.get(Campaign, board.campaign.id).comment_policy == (
        CommentPolicy.PRE_MODERATED
    )
    assert audit_actions(db, board.campaign) == [
        ("comment.policy", {"changes": {"comment_policy": ["post", "pre"]}})
    ]
    html = client.get(response.location).text
    assert flashes(html) == [
        "The discussion policy is now “Pre-moderated”. Each comment waits until a moderator"
        " approves it."
    ]
    assert "Discussion: <strong>Pre-moderated</strong>." in html

    # The same again: nothing changes, nothing is recorded.
    response = client.post(f"{QUEUE}/policy", data={"policy": "pre"})
    assert flashes(client.get(response.location).text) == [
        "That is the policy already. Nothing was changed."
    ]
    assert len(audit_actions(db, board.campaign)) == 1

    # Off: the screen stays, and says so.
    client.post(f"{QUEUE}/policy", data={"policy": "off"})
    assert "Discussion: <strong>Off</strong>." in client.get(QUEUE).text


def test_a_moderator_sees_the_policy_but_cannot_change_it(client, db, board):
    login(client, board.moderator)
    html = client.get(QUEUE).text
    assert "Discussion: <strong>Post-moderated</strong>." in html
    assert "Comments are visible at once, moderated afterwards." in html
    assert 'name="policy"' not in html
    assert "/comments/policy" not in html

    response = client.post(f"{QUEUE}/policy", data={"policy": "off"})

    assert response.status_code == 403
    db.session.rollback()
    assert db.session.get(Campaign, board.campaign.id).comment_policy == (
        CommentPolicy.POST_MODERATED
    )
    assert audit_actions(db, board.campaign) == []


def test_an_unknown_policy_is_refused(client, db, board):
    login(client, board.owner)

    response = client.post(f"{QUEUE}/policy", data={"policy": "sometimes"})

    assert flashes(client.get(response.location).text) == [
        "Choose one of the policies. Nothing was changed."
    ]
    assert audit_actions(db, board.campaign) == []


# --- the audit log ----------------------------------------------------------------------------


def test_the_audit_log_names_moderation_in_words(client, db, board):
    comment = board.comment(author_name="Logged Author", status=CommentStatus.PENDING)
    db.session.commit()
    moderation.approve(db.session, board.moderator, comment)
    moderation.hide(db.session, board.moderator, comment)
    moderation.remove(db.session, board.moderator, comment)
    moderation.block_author(db.session, board.moderator, comment)
    block = db.session.scalar(select(CommentBlock))
    moderation.unblock(db.session, board.moderator, board.campaign, block.id)
    moderation.set_policy(db.session, board.owner, board.campaign, CommentPolicy.PRE_MODERATED)
    db.session.commit()
    login(client, board.owner)

    html = client.get("/admin/c/talk/audit").text

    for sentence in (
        "Approved a comment",
        "Hid a comment",
        "Removed a comment",
        "Blocked a commenter",
        "Unblocked a commenter",
        "Changed the discussion policy",
    ):
        assert f"<strong>{sentence}</strong>" in html
    assert "Other action" not in html
    assert f"<dt>Comment number</dt> <dd>{comment.id}</dd>" in html
    assert "<dt>Author&#39;s name</dt> <dd>Logged Author</dd>" in html
    assert "<dt>From</dt> <dd>Waiting for approval</dd>" in html
    assert "<dt>To</dt> <dd>Visible</dd>" in html
    assert "<dt>To</dt> <dd>Removed</dd>" in html
    assert "<dt>Waiting comments removed</dt> <dd>0</dd>" in html
    assert "Discussion: Post-moderated → Pre-moderated" in html


# --- with CSRF on, as in production -----------------------------------------------------------


def csrf_token(html: str) -> str:
    return re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_the_action_forms_carry_a_csrf_token(client, db, board):
    comment = board.comment(author_name="Token Test", status=CommentStatus.PENDING)
    db.session.commit()
    token = csrf_token(client.get("/admin/login").text)
    client.post(
        "/admin/login",
        data={
            "email": board.moderator.email,
            "password": "correct horse battery",
            "csrf_token": token,
        },
    )

    html = client.get(QUEUE).text
    item = items(html)[comment.id]
    assert client.post(f"{QUEUE}/{comment.id}/approve").status_code == 400
    assert status_of(db, comment.id) == CommentStatus.PENDING
    assert 'id="csrf_token"' not in item  # one form per button: no repeated id

    response = client.post(f"{QUEUE}/{comment.id}/approve", data={"csrf_token": csrf_token(item)})

    assert response.status_code == 302
    assert status_of(db, comment.id) == CommentStatus.VISIBLE

    removed = board.comment(author_name="Token Remove")
    db.session.commit()
    page = client.get(f"{QUEUE}/{removed.id}/remove").text
    response = client.post(f"{QUEUE}/{removed.id}/remove", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    assert status_of(db, removed.id) == CommentStatus.REMOVED


# --- the alert email --------------------------------------------------------------------------


def alerts(db) -> list[OutboxMessage]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == "moderation_alert")
            .order_by(OutboxMessage.id)
        )
    )


def test_the_alert_goes_to_every_team_member_once_an_hour(app, db, board, mail):
    make_organizer(email="admin@example.org", is_admin=True)  # not on the team: not alerted
    for n in (1, 2):
        board.comment(author_name=f"Waiting {n}", status=CommentStatus.PENDING)
    board.comment(board.other, author_name="Elsewhere Waiting", status=CommentStatus.PENDING)
    db.session.commit()

    run_polling_worker(app, once=True)  # alerts, then delivers

    team = ["olga@example.org", "ed@example.org", "mo@example.org"]
    assert sorted(m.to for m in mail.sent if m.to != "out@example.org") == sorted(team)
    assert [m.to for m in mail.sent if "Elsewhere" in m.subject] == ["out@example.org"]
    sent = mail.to("mo@example.org")[0]
    assert sent.subject == f"Comments need your attention: {SECRET_TITLE}"
    assert sent.text.startswith("Hello Mo Moderator,")
    assert "2 new comments wait for approval." in sent.text
    assert "waiting for approval: 2" in sent.text
    assert "flagged: 0" in sent.text
    assert "http://campaign.test/admin/c/talk/comments?tab=pending" in sent.links()
    assert 'href="http://campaign.test/admin/c/talk/comments?tab=pending"' in sent.html
    assert "2 new comments wait for approval." in sent.html
    assert COMMENTER_DOMAIN not in sent.text + sent.html

    # Within the hour: nothing more, however much comes in.
    board.comment(author_name="Waiting 3", status=CommentStatus.PENDING)
    db.session.commit()
    assert moderation.send_moderation_alerts(db.session) == 0
    run_polling_worker(app, once=True)
    assert len(mail.to("mo@example.org")) == 1

    # An hour later: one more, about what is new since.
    later = utcnow() + timedelta(minutes=61)
    assert moderation.send_moderation_alerts(db.session, now=later) == 1
    messages = [m for m in alerts(db) if m.to_email == "mo@example.org"]
    assert len(messages) == 2
    assert "1 new comment waits for approval." in messages[1].text_body
    assert "waiting for approval: 3" in messages[1].text_body


def test_an_alert_about_flags_links_to_the_flagged_tab(app, db, board):
    flag(db, board.comment(author_name="Flag Alert"), FlagReason.SPAM)
    db.session.commit()

    assert moderation.send_moderation_alerts(db.session) == 1

    message = [m for m in alerts(db) if m.to_email == "mo@example.org"][0]
    assert "1 new flag from readers." in message.text_body
    assert "new comment" not in message.text_body
    assert "http://campaign.test/admin/c/talk/comments?tab=flagged" in message.text_body
    assert "flagged: 1" in message.text_body


def test_the_cli_sends_alerts_once(app, db, board):
    board.comment(author_name="Cli Waiting", status=CommentStatus.PENDING)
    db.session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["comments", "alert"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Alerted the moderators of 1 campaign."
    assert sorted(m.to_email for m in alerts(db)) == sorted(
        ["olga@example.org", "ed@example.org", "mo@example.org"]
    )

    result = runner.invoke(args=["comments", "alert"])
    assert result.output.strip() == "Alerted the moderators of 0 campaigns."
    assert len(alerts(db)) == 3


def test_the_polling_worker_sends_alerts_about_once_a_minute(app, db, monkeypatch):
    calls = []

    def counting(session, now=None):
        calls.append(time.monotonic())
        return 0

    monkeypatch.setattr(moderation, "send_moderation_alerts", counting)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_polling_worker, args=(app,), kwargs={"interval": 0.02, "stop": stop}
    )
    thread.start()
    try:
        time.sleep(0.4)  # some twenty delivery rounds
    finally:
        stop.set()
        thread.join(timeout=10)
    assert len(calls) == 1


def test_a_failed_alert_round_does_not_stop_delivery(app, db, mail, monkeypatch):
    def broken(session, now=None):
        session.execute(select(func.count()).select_from(Comment))
        raise RuntimeError("database restarting")

    monkeypatch.setattr(moderation, "send_moderation_alerts", broken)
    db.session.add(
        OutboxMessage(
            kind="test",
            to_email="reader@example.org",
            language="en",
            subject="Still delivered",
            text_body="Text",
            html_body="<p>HTML</p>",
        )
    )
    db.session.commit()

    run_polling_worker(app, once=True)

    assert [m.subject for m in mail.sent] == ["Still delivered"]


def test_the_rq_sweep_sends_alerts(app, db, database_url, sendgrid, redis_url, mail):
    from campaign import create_app
    from campaign.mail.worker import run_rq_worker

    board = Board(db)
    board.comment(author_name="Rq Waiting", status=CommentStatus.PENDING)
    db.session.commit()
    rq_app = create_app(config_for(database_url, sendgrid, REDIS_URL=redis_url))
    with rq_app.app_context():
        run_rq_worker(rq_app, burst=True)
        _db.session.remove()
        _db.engine.dispose()

    assert len(mail.to("mo@example.org")) == 1
    assert mail.to("mo@example.org")[0].subject.startswith("Comments need your attention")
