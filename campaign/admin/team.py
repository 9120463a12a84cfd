"""A campaign's team: members, roles and invitations (owners only)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from campaign.admin import bp
from campaign.admin.access import campaign_screen
from campaign.admin.forms.team import (
    InviteForm,
    RemoveMemberForm,
    RoleForm,
    role_form,
)
from campaign.admin.labels import role_label
from campaign.extensions import db
from campaign.models import Campaign, Membership
from campaign.services import organizers
from campaign.services import team as team_service
from campaign.services.authz import Action, can
from campaign.services.errors import InvalidEmail, InvitationNotPending


def _team_page(
    campaign: Campaign,
    *,
    invite_form: InviteForm | None = None,
    failed_role_form: tuple[int, RoleForm] | None = None,
    status: int = 200,
):
    listing = team_service.team(db.session, campaign)
    role_forms = {m.id: role_form(m.id, formdata=None, role=m.role) for m in listing.members}
    if failed_role_form is not None:
        role_forms[failed_role_form[0]] = failed_role_form[1]
    return render_template(
        "admin/team/index.html",
        campaign=campaign,
        team=listing,
        role_forms=role_forms,
        invite_form=invite_form or InviteForm(formdata=None),
    ), status


def _membership_or_404(campaign: Campaign, membership_id: int) -> Membership:
    try:
        return team_service.get_membership(db.session, campaign, membership_id)
    except team_service.NotOnTeam:
        abort(404)


def _away_from_team(campaign: Campaign):
    """Where to go after a change that may have ended the organizer's own right to this screen."""
    if can(db.session, current_user, campaign, Action.MANAGE_TEAM):
        return redirect(url_for("admin.team", slug=campaign.slug))
    return redirect(url_for("admin.dashboard"))


def _last_owner_message(membership: Membership) -> str:
    if membership.organizer_id == current_user.id:
        return _("You are this campaign's only owner. Make someone else an owner first.")
    return _("A campaign needs at least one owner. Make someone else an owner first.")


@bp.route("/c/<slug>/team")
@campaign_screen(Action.MANAGE_TEAM)
def team(campaign: Campaign):
    return _team_page(campaign)


@bp.route("/c/<slug>/team/invite", methods=["POST"])
@campaign_screen(Action.MANAGE_TEAM)
def team_invite(campaign: Campaign):
    form = InviteForm()
    if form.validate_on_submit():
        try:
            invitation = organizers.invite(
                db.session, current_user, campaign, form.email.data, form.role.data
            )
        except InvalidEmail:
            form.email.errors.append(_("Enter a valid email address."))
        except organizers.AlreadyMember as exc:
            form.email.errors.append(
                _(
                    "%(email)s is already on the team as %(role)s:"
                    " change their role in the list of members.",
                    email=exc.email,
                    role=role_label(exc.role),
                )
            )
        except organizers.AlreadyInvited as exc:
            form.email.errors.append(
                _(
                    "%(email)s is already invited. Revoke that invitation first to send a new one.",
                    email=exc.email,
                )
            )
        else:
            db.session.commit()
            flash(
                _(
                    "Invitation sent to %(email)s as %(role)s.",
                    email=invitation.email,
                    role=role_label(invitation.role),
                ),
                "success",
            )
            return redirect(url_for("admin.team", slug=campaign.slug))
        db.session.rollback()
    return _team_page(campaign, invite_form=form, status=422)


@bp.route("/c/<slug>/team/members/<int:membership_id>/role", methods=["POST"])
@campaign_screen(Action.MANAGE_TEAM)
def team_role(campaign: Campaign, membership_id: int):
    membership = _membership_or_404(campaign, membership_id)
    form = role_form(membership.id)
    if form.validate_on_submit():
        try:
            changed = team_service.change_role(db.session, current_user, membership, form.role.data)
        except team_service.LastOwner:
            db.session.rollback()
            form.role.errors.append(_last_owner_message(membership))
        else:
            db.session.commit()
            name = membership.organizer.display_name
            if not changed:
                flash(_("%(name)s already has that role.", name=name), "info")
            else:
                flash(
                    _(
                        "%(name)s is now %(role)s.",
                        name=name,
                        role=role_label(membership.role),
                    ),
                    "success",
                )
            return _away_from_team(campaign)
    return _team_page(campaign, failed_role_form=(membership.id, form), status=422)


@bp.route("/c/<slug>/team/members/<int:membership_id>/remove", methods=["GET", "POST"])
@campaign_screen(Action.MANAGE_TEAM)
def team_remove(campaign: Campaign, membership_id: int):
    """GET asks for confirmation; POST removes."""
    membership = _membership_or_404(campaign, membership_id)
    form = RemoveMemberForm()
    error = None
    if form.validate_on_submit():
        name = membership.organizer.display_name
        is_self = membership.organizer_id == current_user.id
        try:
            team_service.remove_member(db.session, current_user, membership)
        except team_service.LastOwner:
            db.session.rollback()
            error = _last_owner_message(membership)
        else:
            db.session.commit()
            if is_self:
                flash(_("You left the team of %(slug)s.", slug=campaign.slug), "success")
            else:
                flash(_("%(name)s is no longer on the team.", name=name), "success")
            return _away_from_team(campaign)
    return render_template(
        "admin/team/remove.html",
        campaign=campaign,
        membership=membership,
        is_self=membership.organizer_id == current_user.id,
        is_last_owner=team_service.is_last_owner(db.session, membership),
        form=form,
        error=error,
    ), (422 if error else 200)


@bp.route("/c/<slug>/team/invitations/<int:invitation_id>/revoke", methods=["POST"])
@campaign_screen(Action.MANAGE_TEAM)
def team_revoke(campaign: Campaign, invitation_id: int):
    try:
        invitation = team_service.get_invitation(db.session, campaign, invitation_id)
    except team_service.NotOnTeam:
        abort(404)
    # No form to validate: CSRFProtect checks the token of every POST.
    try:
        team_service.revoke_invitation(db.session, current_user, invitation)
    except InvitationNotPending:
        db.session.rollback()
        flash(_("That invitation was already accepted or revoked."), "info")
    else:
        db.session.commit()
        flash(_("The invitation to %(email)s is revoked.", email=invitation.email), "success")
    return redirect(url_for("admin.team", slug=campaign.slug))
