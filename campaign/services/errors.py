"""Exceptions raised by services; views turn them into messages."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campaign.models import Role


class ServiceError(Exception):
    """Base class for a rule that refused an action."""


class CampaignNotFound(ServiceError):
    """No public campaign has that slug."""


class CampaignClosed(ServiceError):
    """The campaign exists but no longer takes signatures."""


class InvalidEmail(ServiceError):
    """The address cannot receive mail."""


class EmailDomainBlocked(InvalidEmail):
    """The campaign refuses signatures from the address's domain (disposable or listed)."""

    def __init__(self, domain: str) -> None:
        super().__init__(domain)
        self.domain = domain


class NothingToInvalidate(ServiceError):
    """The selected signatures were all invalidated already, or there were none."""


class InvalidationNotFound(ServiceError):
    """No such batch of invalidated signatures in this campaign, or it was restored already."""


class InvalidToken(ServiceError):
    """A link's token was tampered with, is for another purpose, or names nothing."""


class TokenExpired(InvalidToken):
    """A link's token was genuine but is too old."""


class SignatureGone(InvalidToken):
    """A genuine link to a signature that is no longer there: withdrawn or erased."""


class OrganizerExists(ServiceError):
    """An organizer with that email already exists."""


class InvalidCredentials(ServiceError):
    """Wrong email or password (deliberately not saying which)."""


class LoginLocked(ServiceError):
    """Too many failed logins in a row for this address: refused until `until` (UTC)."""

    def __init__(self, until):
        super().__init__(until)
        self.until = until


class WeakPassword(ServiceError):
    """The password is too short to protect supporters' data."""


class InvitationNotPending(InvalidToken):
    """The invitation was already accepted or was revoked."""


# --- running campaigns (services.campaign_admin) ---


class InvalidSlug(ServiceError):
    """The slug is not 3–80 lowercase letters, digits and hyphens."""


class SlugTaken(ServiceError):
    """Another campaign already has this slug."""


class SlugLocked(ServiceError):
    """The campaign is public: its address is out there and may no longer change."""


class InvalidGoal(ServiceError):
    """The goal is not a positive whole number."""


class UnknownLanguage(ServiceError):
    """The language is not one of the site's languages."""


class NoTranslation(ServiceError):
    """The campaign has no texts in that language (e.g. to make it the default)."""


class InvalidTransition(ServiceError):
    """The status cannot move there from where it is (only one step forward at a time)."""

    def __init__(self, current, requested):
        super().__init__(f"{current} -> {requested}")
        self.current = current
        self.requested = requested


class MissingDefaultText(ServiceError):
    """A campaign cannot open before it has texts in its default language."""


class MissingOutcomeText(ServiceError):
    """An outcome needs its text in the campaign's default language, the one every reader can
    fall back to."""


class DeletionNotConfirmed(ServiceError):
    """The slug typed to confirm a deletion is not the campaign's."""


# --- team invitations (services.organizers) ---


class AlreadyMember(ServiceError):
    """The address belongs to someone already on the campaign's team."""

    def __init__(self, email: str, role: Role):
        super().__init__(email)
        self.email = email
        self.role = role


class AlreadyInvited(ServiceError):
    """The address has an invitation to this campaign that still works."""

    def __init__(self, email: str):
        super().__init__(email)
        self.email = email


# --- the team (services.team) ---


class LastOwner(ServiceError):
    """The change would leave the campaign without an owner."""


class NotOnTeam(ServiceError):
    """No such member or invitation in this campaign."""


# --- a person's data (services.people) ---


class PersonNotFound(ServiceError):
    """This campaign holds nothing about that address."""


# --- discussion (services.comments, services.moderation) ---


class CommentsClosed(ServiceError):
    """The campaign takes no comments: discussion is off, or the campaign is not open."""


class CommentNotFound(ServiceError):
    """No comment with that id is shown on this campaign."""


class CannotReply(ServiceError):
    """The comment cannot be answered (not visible, or discussion closed)."""


class CommentRejected(ServiceError):
    """A rule against spam or abuse refused the comment; `reason` says which, for the form."""

    def __init__(self, reason: str, **details):
        super().__init__(reason)
        self.reason = reason
        self.details = details


class NotModeratable(ServiceError):
    """The moderation action does not apply to the comment as it is now."""


# --- rallies (services.events, services.rsvps) ---


class InvalidEvent(ServiceError):
    """A field of an event is missing or wrong; `field` and `reason` say which and why."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class EventClosed(ServiceError):
    """The event takes no RSVPs: cancelled, over, or not public."""


class TooManyMessages(ServiceError):
    """A host has already sent as many messages to their attendees as a day allows."""

    def __init__(self, limit: int):
        super().__init__(f"at most {limit} a day")
        self.limit = limit


# --- updates (services.broadcasts) ---


class InvalidBroadcast(ServiceError):
    """A field of an update is missing or wrong; `field` and `reason` say which and why.

    Per-language fields are named `subject_<lang>` and `body_<lang>`."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class BroadcastLocked(ServiceError):
    """The update is being sent or was sent: its texts and audience can no longer change."""


class NoRecipients(ServiceError):
    """Nobody would get the update: the audience is empty (or everyone in it is left out)."""


# --- paper signatures (services.paper_signatures) ---


class InvalidPaperSignatures(ServiceError):
    """A field of a paper signature entry is missing or wrong; `field` and `reason` say which
    and why (reasons: "count", "future", "event", "draft")."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class PaperSignaturesNotFound(ServiceError):
    """No entry of paper signatures with that number in this campaign."""
