"""Moderating a campaign's discussion: the queue's tabs, the actions, blocked authors, policy.

The rules (what may be approved, hidden, removed; what blocking does) are the service's,
`services.moderation`. This module only offers the buttons that apply, so that a moderator
rarely meets a refusal, and turns the service's NotModeratable into a message when they do
(another moderator got there first, say). Commenters' addresses never reach these pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from campaign.admin import bp
from campaign.admin.access import campaign_screen, page_number
from campaign.admin.forms.comments import (
    BlockAuthorForm,
    CommentPolicyForm,
    ModerationActionForm,
    RemoveCommentForm,
)
from campaign.admin.labels import comment_policy_label, comment_status_label, flag_reason_label
from campaign.extensions import db
from campaign.i18n import text_direction, ui_language_name
from campaign.models import Campaign, Comment, CommentPolicy, CommentStatus, FlagReason
from campaign.pagination import Page
from campaign.services import moderation
from campaign.services.authz import Action
from campaign.services.errors import NotModeratable
from campaign.services.language_detection import UNKNOWN
from campaign.services.moderation import QueueTab
from campaign.services.plain_text import render_plain_text

PER_PAGE = 25

TAB_LABELS = {
    QueueTab.PENDING: _l("Waiting for approval"),
    QueueTab.FLAGGED: _l("Flagged"),
    QueueTab.HIDDEN: _l("Recently hidden"),
}

EMPTY_TABS = {
    QueueTab.PENDING: _l("Nothing waits for approval."),
    QueueTab.FLAGGED: _l("No comment is flagged."),
    QueueTab.HIDDEN: _l("No comment was hidden or removed in the last 30 days."),
}

POLICY_DESCRIPTIONS = {
    CommentPolicy.OFF: _l("The petition page shows no discussion and takes no comments."),
    CommentPolicy.POST_MODERATED: _l("Comments are visible at once, moderated afterwards."),
    CommentPolicy.PRE_MODERATED: _l("Each comment waits until a moderator approves it."),
}

FLAG_REASON_ORDER = list(FlagReason)


# --- which actions apply ------------------------------------------------------------------------
# These mirror the checks at the top of moderation.approve / hide / remove / block_author;
# tests/test_admin_comments.py holds them to the service for every state a comment can be in.


def can_approve(comment: Comment) -> bool:
    if comment.status == CommentStatus.UNCONFIRMED or comment.confirmed_at is None:
        return False
    return not (comment.status == CommentStatus.VISIBLE and not comment.flag_count)


def can_hide(comment: Comment) -> bool:
    if comment.status in (CommentStatus.UNCONFIRMED, CommentStatus.PENDING, CommentStatus.REMOVED):
        return False
    return not (comment.status == CommentStatus.HIDDEN and not comment.hidden_by_flags)


def can_remove(comment: Comment) -> bool:
    return comment.status not in (CommentStatus.UNCONFIRMED, CommentStatus.REMOVED)


def can_block(comment: Comment) -> bool:
    return bool(comment.email_key)


@dataclass(frozen=True)
class QueueItem:
    """One comment as the queue shows it."""

    comment: Comment
    body_html: Markup
    language_label: str
    language: str | None  # for the lang and dir of the text, when it was recognised
    text_dir: str | None
    status_label: str
    moderated_by: str | None  # who last approved, hid or removed it
    flags: list[tuple[str, int]]  # open flags: (reason in words, how many)
    can_approve: bool
    approve_label: str
    can_hide: bool
    can_remove: bool
    can_block: bool
    author_blocked: bool


def _item(entry: moderation.FlaggedComment, blocked_keys: set[str]) -> QueueItem:
    comment = entry.comment
    known = comment.language not in ("", UNKNOWN)
    blocked = bool(comment.email_key) and comment.email_key in blocked_keys
    return QueueItem(
        comment=comment,
        body_html=render_plain_text(comment.body),
        language_label=ui_language_name(comment.language) if known else _("not recognised"),
        language=comment.language if known else None,
        text_dir=text_direction(comment.language) if known else None,
        status_label=_status_label(comment),
        moderated_by=comment.moderated_by.display_name if comment.moderated_by else None,
        flags=[
            (flag_reason_label(reason), entry.reasons[reason.value])
            for reason in FLAG_REASON_ORDER
            if entry.reasons.get(reason.value)
        ],
        can_approve=can_approve(comment),
        approve_label=_approve_label(comment),
        can_hide=can_hide(comment),
        can_remove=can_remove(comment),
        can_block=can_block(comment) and not blocked,
        author_blocked=blocked,
    )


def _status_label(comment: Comment) -> str:
    if comment.status == CommentStatus.HIDDEN and comment.hidden_by_flags:
        return _("Hidden by readers' flags until a moderator reviews it")
    return comment_status_label(comment.status)


def _approve_label(comment: Comment) -> str:
    if comment.status == CommentStatus.PENDING:
        return _("Approve")
    if comment.status == CommentStatus.VISIBLE:
        return _("Keep it visible")
    return _("Make it visible again")


# --- where to come back to ----------------------------------------------------------------------


def _current_tab() -> str:
    tab = request.args.get("tab", QueueTab.PENDING)
    return tab if tab in QueueTab.ALL else QueueTab.PENDING


def _queue_args() -> dict:
    """The tab and page a moderator acted from, to go back to them afterwards."""
    args = {"tab": _current_tab()}
    if page_number() > 1:
        args["page"] = page_number()
    return args


def _back_to_queue(campaign: Campaign):
    return redirect(url_for("admin.comments", slug=campaign.slug, **_queue_args()))


def _comment_or_404(campaign: Campaign, comment_id: int) -> Comment:
    try:
        return moderation.campaign_comment(db.session, campaign, comment_id)
    except NotModeratable:
        abort(404)


def _refused(campaign: Campaign, comment: Comment):
    """The action does not apply to the comment as it is now: say so, change nothing."""
    db.session.rollback()  # the comment is read again, as it is now
    flash(
        _(
            "That does not apply to this comment as it is now (%(status)s). Nothing was changed.",
            status=_status_label(comment),
        ),
        "error",
    )
    return _back_to_queue(campaign)


# --- the queue ----------------------------------------------------------------------------------


@bp.route("/c/<slug>/comments")
@campaign_screen(Action.MODERATE)
def comments(campaign: Campaign):
    tab = _current_tab()
    queue = moderation.moderation_queue(
        db.session, campaign, tab, page=page_number(), per_page=PER_PAGE
    )
    counts = moderation.queue_counts(db.session, campaign)
    blocks = moderation.blocks(db.session, campaign)
    blocked_keys = {block.email_key for block in blocks}
    page = Page(
        items=[_item(entry, blocked_keys) for entry in queue.items],
        number=queue.page,
        per_page=PER_PAGE,
        total=queue.total,
    )
    can_set_policy = Action.EDIT in g.allowed
    policy_form = None
    if can_set_policy:
        policy_form = CommentPolicyForm(formdata=None, policy=campaign.comment_policy)
    return render_template(
        "admin/comments/queue.html",
        campaign=campaign,
        tab=tab,
        tabs=[(name, TAB_LABELS[name], getattr(counts, name)) for name in QueueTab.ALL],
        empty_message=EMPTY_TABS[tab],
        page=page,
        queue_args=_queue_args(),
        action_form=ModerationActionForm(),
        block_count=len(blocks),
        policy_label=comment_policy_label(campaign.comment_policy),
        policy_description=POLICY_DESCRIPTIONS[campaign.comment_policy],
        policy_form=policy_form,
    )


@bp.route("/c/<slug>/comments/<int:comment_id>/approve", methods=["POST"])
@campaign_screen(Action.MODERATE)
def comment_approve(campaign: Campaign, comment_id: int):
    comment = _comment_or_404(campaign, comment_id)
    # No form to validate: CSRFProtect checks the token of every POST.
    try:
        moderation.approve(db.session, current_user, comment)
    except NotModeratable:
        return _refused(campaign, comment)
    db.session.commit()
    flash(_("The comment by %(name)s is visible.", name=comment.author_name), "success")
    return _back_to_queue(campaign)


@bp.route("/c/<slug>/comments/<int:comment_id>/hide", methods=["POST"])
@campaign_screen(Action.MODERATE)
def comment_hide(campaign: Campaign, comment_id: int):
    comment = _comment_or_404(campaign, comment_id)
    try:
        moderation.hide(db.session, current_user, comment)
    except NotModeratable:
        return _refused(campaign, comment)
    db.session.commit()
    flash(
        _(
            "The comment by %(name)s is hidden. Readers see that a moderator hid it.",
            name=comment.author_name,
        ),
        "success",
    )
    return _back_to_queue(campaign)


@bp.route("/c/<slug>/comments/<int:comment_id>/remove", methods=["GET", "POST"])
@campaign_screen(Action.MODERATE)
def comment_remove(campaign: Campaign, comment_id: int):
    """GET asks for confirmation; POST removes."""
    comment = _comment_or_404(campaign, comment_id)
    form = RemoveCommentForm()
    if not can_remove(comment) and request.method == "GET":
        return _refused(campaign, comment)
    if form.validate_on_submit():
        try:
            moderation.remove(db.session, current_user, comment)
        except NotModeratable:
            return _refused(campaign, comment)
        db.session.commit()
        flash(_("The comment by %(name)s is removed.", name=comment.author_name), "success")
        return _back_to_queue(campaign)
    return _confirm_page(campaign, comment, form, "remove")


@bp.route("/c/<slug>/comments/<int:comment_id>/block", methods=["GET", "POST"])
@campaign_screen(Action.MODERATE)
def comment_block(campaign: Campaign, comment_id: int):
    """GET asks for confirmation; POST blocks the author and hides the comment."""
    comment = _comment_or_404(campaign, comment_id)
    form = BlockAuthorForm()
    if not can_block(comment) and request.method == "GET":
        return _refused(campaign, comment)
    if form.validate_on_submit():
        try:
            moderation.block_author(db.session, current_user, comment)
        except NotModeratable:
            return _refused(campaign, comment)
        db.session.commit()
        flash(
            _(
                "%(name)s can no longer comment on this campaign. Their comment is hidden, and"
                " any of theirs waiting for approval are removed.",
                name=comment.author_name,
            ),
            "success",
        )
        return _back_to_queue(campaign)
    return _confirm_page(campaign, comment, form, "block")


def _confirm_page(campaign: Campaign, comment: Comment, form, action: str):
    entry = moderation.FlaggedComment(comment, {})
    return render_template(
        "admin/comments/confirm.html",
        campaign=campaign,
        item=_item(entry, set()),
        action=action,
        form=form,
        back_url=url_for("admin.comments", slug=campaign.slug, **_queue_args()),
    ), (422 if form.is_submitted() else 200)


# --- blocked authors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BlockRow:
    id: int
    author_name: str
    created_at: datetime
    blocked_by: str | None


@bp.route("/c/<slug>/comments/blocked")
@campaign_screen(Action.MODERATE)
def comment_blocks(campaign: Campaign):
    rows = [
        BlockRow(
            id=block.id,
            author_name=block.author_name,
            created_at=block.created_at,
            blocked_by=block.created_by.display_name if block.created_by else None,
        )
        for block in moderation.blocks(db.session, campaign)
    ]
    return render_template(
        "admin/comments/blocks.html",
        campaign=campaign,
        blocks=rows,
        action_form=ModerationActionForm(),
    )


@bp.route("/c/<slug>/comments/blocked/<int:block_id>/unblock", methods=["POST"])
@campaign_screen(Action.MODERATE)
def comment_unblock(campaign: Campaign, block_id: int):
    blocked = {block.id: block.author_name for block in moderation.blocks(db.session, campaign)}
    try:
        moderation.unblock(db.session, current_user, campaign, block_id)
    except NotModeratable:
        db.session.rollback()
        flash(_("That author is not blocked any more. Nothing was changed."), "error")
    else:
        db.session.commit()
        flash(
            _("%(name)s can comment on this campaign again.", name=blocked.get(block_id, "")),
            "success",
        )
    return redirect(url_for("admin.comment_blocks", slug=campaign.slug))


# --- the discussion policy ----------------------------------------------------------------------


@bp.route("/c/<slug>/comments/policy", methods=["POST"])
@campaign_screen(Action.EDIT)
def comment_policy(campaign: Campaign):
    form = CommentPolicyForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the policies. Nothing was changed."), "error")
        return _back_to_queue(campaign)
    changed = moderation.set_policy(db.session, current_user, campaign, form.policy.data)
    db.session.commit()
    if changed:
        flash(
            _(
                "The discussion policy is now “%(policy)s”. %(description)s",
                policy=comment_policy_label(campaign.comment_policy),
                description=POLICY_DESCRIPTIONS[campaign.comment_policy],
            ),
            "success",
        )
    else:
        flash(_("That is the policy already. Nothing was changed."), "info")
    return _back_to_queue(campaign)
