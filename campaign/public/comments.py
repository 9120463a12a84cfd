"""The discussion under a petition: post, reply, confirm, support and flag."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_number
from flask_babel import gettext as _

from campaign.extensions import db, limiter
from campaign.models import Comment, CommentStatus, FlagReason
from campaign.public import bp
from campaign.public.forms import CommentConfirmForm, CommentForm, FlagForm, SupportForm
from campaign.public.pages import localized_or_404, page_context, render_petition
from campaign.public.readers import (
    comment_form,
    comment_rules,
    known_mailboxes,
    reader,
    remember_mailbox,
    restart_clock,
    too_quick,
)
from campaign.rate_limits import per_mailbox, per_token
from campaign.services import comments as comment_service
from campaign.services.errors import (
    CannotReply,
    CommentNotFound,
    CommentRejected,
    CommentsClosed,
    InvalidEmail,
    InvalidToken,
    TokenExpired,
)
from campaign.services.plain_text import render_plain_text

REJECTION_MESSAGES = {
    "empty": lambda d: _("Write your comment."),
    "empty_name": lambda d: _("Enter your name."),
    "too_long": lambda d: _(
        "Your comment is too long: keep it to %(limit)s characters.",
        limit=format_number(d["limit"]),
    ),
    "too_many_links": lambda d: _(
        "Too many links: a comment may contain at most %(limit)s.", limit=d["limit"]
    ),
    "blocked": lambda d: _("This email address may not comment on this campaign."),
    "duplicate": lambda d: _("This comment has already been posted."),
    "too_many": lambda d: _(
        "You have posted many comments in the last hour. Please wait a while and try again."
    ),
}


# --- views ------------------------------------------------------------------------------------


def _shown_comment_or_404(campaign, comment_id: int) -> Comment:
    try:
        return comment_service.shown_comment(db.session, campaign, comment_id)
    except CommentNotFound:
        abort(404)


def _back_to(campaign, comment: Comment | None = None, **args):
    anchor = f"comment-{comment.id}" if comment is not None else "comments"
    keep = {k: v for k, v in request.args.items() if k in ("sort", "show", "page")}
    return redirect(url_for("public.petition", slug=campaign.slug, **keep, **args, _anchor=anchor))


@bp.route("/<lang>/c/<slug>/comments", methods=["POST"])
@limiter.limit(lambda: current_app.config["COMMENT_RATE_LIMIT"])
@per_mailbox()
def post_comment(slug: str):
    return _post(slug, reply_to_id=None)


@bp.route("/<lang>/c/<slug>/comments/<int:comment_id>/reply", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["COMMENT_RATE_LIMIT"], methods=["POST"])
@per_mailbox()
def reply(slug: str, comment_id: int):
    return _post(slug, reply_to_id=comment_id)


def _post(slug: str, reply_to_id: int | None):
    localized = localized_or_404(slug)
    campaign = localized.campaign
    reply_to = _shown_comment_or_404(campaign, reply_to_id) if reply_to_id else None
    form = comment_form()

    def again(status: int):
        restart_clock(form)
        if reply_to is not None:
            return _render_reply(localized, reply_to, form), status
        return render_petition(localized, comment_form=form, status=status)

    if request.method == "GET":
        if not comment_service.can_reply(campaign, reply_to):
            return _back_to(campaign, reply_to)
        return _render_reply(localized, reply_to, form)
    if not comment_service.accepts_comments(campaign):
        flash(_("This discussion is closed."), "error")
        return _back_to(campaign)
    if reply_to is not None and not comment_service.can_reply(campaign, reply_to):
        flash(_("This comment can no longer be answered."), "error")
        return _back_to(campaign, reply_to)
    if not form.validate_on_submit():
        return again(422)
    if form.is_bot:
        # Answer a filled-in spam trap as if all went well; the bot learns nothing.
        flash(_("Check your email: we sent you a link to publish your comment."), "success")
        return _back_to(campaign)
    if too_quick():
        form.body.errors.append(
            _("That was quick! Please read your comment once more, then post it.")
        )
        return again(422)
    try:
        result = comment_service.post_comment(
            db.session,
            campaign,
            comment_service.CommentData(
                author_name=form.author_name.data or "",
                email=form.email.data or "",
                body=form.body.data or "",
            ),
            ui_language=g.lang,
            rules=comment_rules(),
            known_mailboxes=known_mailboxes(),
            reply_to=reply_to,
        )
    except InvalidEmail:
        db.session.rollback()
        form.email.errors.append(_("Enter an email address like name@example.org."))
        return again(422)
    except CommentRejected as exc:
        db.session.rollback()
        field = form.author_name if exc.reason == "empty_name" else form.body
        if exc.reason == "blocked":
            field = form.email
        field.errors.append(REJECTION_MESSAGES[exc.reason](exc.details))
        return again(422)
    except (CommentsClosed, CannotReply):
        db.session.rollback()
        flash(_("This discussion is closed."), "error")
        return _back_to(campaign)
    db.session.commit()
    comment = result.comment
    if result.needs_confirmation:
        flash(_("Check your email: we sent you a link to publish your comment."), "success")
        return _back_to(campaign)
    _flash_published(comment)
    return _back_to(campaign, comment if comment.status == CommentStatus.VISIBLE else None)


def _flash_published(comment: Comment) -> None:
    if comment.status == CommentStatus.PENDING:
        flash(_("Thank you. Your comment will appear once a moderator has approved it."), "success")
    else:
        flash(_("Thank you. Your comment is published."), "success")


def _render_reply(localized, reply_to: Comment, form: CommentForm):
    return render_template(
        "public/comment_reply.html",
        form=form,
        reply_to=reply_to,
        reply_to_html=render_plain_text(reply_to.body),
        **page_context(localized),
    )


@bp.route("/<lang>/c/<slug>/comments/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CONFIRM_RATE_LIMIT"], methods=["POST"])
@per_token()
def confirm_comment(slug: str, token: str):
    localized = localized_or_404(slug)
    campaign = localized.campaign
    try:
        comment = comment_service.comment_for_token(db.session, campaign, token)
    except TokenExpired:
        return render_template(
            "public/comment_confirm_invalid.html", expired=True, **page_context(localized)
        ), 410
    except InvalidToken:
        return render_template(
            "public/comment_confirm_invalid.html", expired=False, **page_context(localized)
        ), 404
    form = CommentConfirmForm()
    if comment.status != CommentStatus.UNCONFIRMED:
        remember_mailbox(comment.email_key)
        return _back_to(campaign, comment if comment.status == CommentStatus.VISIBLE else None)
    if request.method == "POST" and form.validate_on_submit():
        try:
            comment = comment_service.confirm_comment(db.session, campaign, token)
        except CommentsClosed:
            db.session.rollback()
            flash(_("This discussion is closed."), "error")
            return _back_to(campaign)
        db.session.commit()
        remember_mailbox(comment.email_key)
        _flash_published(comment)
        return _back_to(campaign, comment if comment.status == CommentStatus.VISIBLE else None)
    return render_template(
        "public/comment_confirm.html",
        form=form,
        comment=comment,
        comment_html=render_plain_text(comment.body),
        **page_context(localized),
    )


@bp.route("/<lang>/c/<slug>/comments/<int:comment_id>/support", methods=["POST"])
@limiter.limit(lambda: current_app.config["COMMENT_ACTION_RATE_LIMIT"])
def support_comment(slug: str, comment_id: int):
    campaign = localized_or_404(slug).campaign
    comment = _shown_comment_or_404(campaign, comment_id)
    if not SupportForm().validate_on_submit():
        return _back_to(campaign, comment)
    try:
        comment_service.toggle_support(db.session, comment, reader(create=True))
    except CommentNotFound:
        db.session.rollback()
        flash(_("Only visible comments can be supported."), "error")
        return _back_to(campaign, comment)
    db.session.commit()
    return _back_to(campaign, comment)


@bp.route("/<lang>/c/<slug>/comments/<int:comment_id>/flag", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["COMMENT_ACTION_RATE_LIMIT"], methods=["POST"])
def flag_comment(slug: str, comment_id: int):
    localized = localized_or_404(slug)
    campaign = localized.campaign
    comment = _shown_comment_or_404(campaign, comment_id)
    form = FlagForm()
    status = 200
    if request.method == "POST":
        if comment.status != CommentStatus.VISIBLE:
            flash(_("Moderators are already reviewing this comment."), "info")
            return _back_to(campaign)
        if form.validate_on_submit():
            try:
                hidden = comment_service.flag_comment(
                    db.session,
                    comment,
                    reader(create=True),
                    FlagReason(form.reason.data),
                    rules=comment_rules(),
                )
            except CommentNotFound:
                # Hidden by other readers' flags or a moderator since this page was read.
                db.session.rollback()
                flash(_("Moderators are already reviewing this comment."), "info")
                return _back_to(campaign)
            db.session.commit()
            if hidden:
                flash(
                    _("Thank you. The comment is hidden until a moderator reviews it."), "success"
                )
            else:
                flash(_("Thank you. Moderators will review this comment."), "success")
            return _back_to(campaign, None if hidden else comment)
        status = 422
    return render_template(
        "public/comment_flag.html",
        form=form,
        comment=comment,
        comment_html=render_plain_text(comment.body),
        **page_context(localized),
    ), status
