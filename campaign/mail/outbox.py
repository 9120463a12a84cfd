"""Writing emails into the outbox, in the recipient's language, inside the caller's transaction."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from sqlalchemy.orm import Session

from campaign.models import OutboxMessage


def queue_email(
    session: Session,
    *,
    kind: str,
    template: str,
    language: str,
    to_email: str,
    to_name: str = "",
    subject,
    **context,
) -> OutboxMessage:
    """Render `mail/<template>.txt` and `.html` in `language` and add them as one outbox row.

    `subject` is a lazy string (`_l(...)`) so it is translated into the recipient's language,
    not the sender's. Nothing is sent here: the row is delivered after the caller commits.
    """
    with force_locale(language):
        subject_text = str(subject)
        context.update(subject=subject_text, language=language, to_name=to_name)
        text_body = render_template(f"mail/{template}.txt", **context)
        html_body = render_template(f"mail/{template}.html", **context)
    message = OutboxMessage(
        kind=kind,
        to_email=to_email,
        to_name=to_name,
        language=language,
        subject=subject_text,
        text_body=text_body,
        html_body=html_body,
    )
    session.add(message)
    session.flush()
    return message
