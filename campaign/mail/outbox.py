"""Writing emails into the outbox, in the recipient's language, inside the caller's transaction."""

from __future__ import annotations

import json
import re

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from campaign.models import OutboxMessage

# Line breaks of every kind, and other control characters, that could end a header line.
_HEADER_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_safe(value: str) -> str:
    """`value` on one line, for an email header: line breaks and control characters become
    spaces, so a name or a campaign title containing them cannot start a header of its own."""
    return " ".join(_HEADER_BREAKS.sub(" ", value or "").split())


def queue_email(
    session: Session,
    *,
    kind: str,
    template: str,
    language: str,
    to_email: str,
    to_name: str = "",
    subject,
    bulk: bool = False,
    unsubscribe_url: str | None = None,
    preferences: bool = True,
    **context,
) -> OutboxMessage:
    """Render `mail/<template>.txt` and `.html` in `language` and add them as one outbox row.

    `subject` is a lazy string (`_l(...)`) so it is translated into the recipient's language,
    not the sender's. Nothing is sent here: the row is delivered after the caller commits.

    `bulk` marks email nobody asked for just now (updates, digests): delivery skips it when the
    mailbox is suppressed (bounced, complained…). With `unsubscribe_url` (see
    `services.subscribers.unsubscribe_url`) the message is bulk, carries RFC 8058 one-click
    `List-Unsubscribe` headers, and the templates get `unsubscribe_url` to show the link.

    Every email to a supporter ends with a link to their email preferences (which campaigns,
    which language, unsubscribe); `preferences=False` leaves it out of organizers' own mail
    (digests, alerts, resets, invitations), which their account page governs.
    """
    headers: dict[str, str] = {}
    if unsubscribe_url:
        bulk = True
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if preferences and not context.get("preferences_url"):
        from campaign.services.subscribers import preferences_url

        context["preferences_url"] = preferences_url(to_email, language)
    # Names and titles come from people; in a header they must stay one line (no new headers).
    to_name = header_safe(to_name)
    with force_locale(language):
        subject_text = header_safe(str(subject))
        context.update(
            subject=subject_text,
            language=language,
            to_name=to_name,
            unsubscribe_url=unsubscribe_url,
        )
        text_body = render_template(f"mail/{template}.txt", **context)
        html_body = render_template(f"mail/{template}.html", **context)
        link = context.get("preferences_url")
        if link and link not in text_body:
            text_body = f"{text_body.rstrip()}\n\n-- \n{_('Choose what you get:')} {link}\n"
    message = OutboxMessage(
        kind=kind,
        to_email=to_email,
        to_name=to_name,
        language=language,
        subject=subject_text,
        text_body=text_body,
        html_body=html_body,
        headers=json.dumps(headers) if headers else "",
        is_bulk=bulk,
    )
    session.add(message)
    session.flush()
    return message
