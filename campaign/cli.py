"""`flask --app app …` commands."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from campaign.extensions import db


def init_app(app: Flask) -> None:
    @app.cli.command("demo")
    def demo():
        """Load the demo campaign (safe to run again)."""
        from campaign.services.demo import (
            load_demo,
            load_demo_comments,
            load_demo_events,
            load_demo_organizer,
        )

        campaign, changed = load_demo(db.session)
        organizer, password = load_demo_organizer(db.session, campaign)
        changed = bool(load_demo_comments(db.session, campaign)) or changed
        changed = bool(load_demo_events(db.session, campaign)) or changed
        db.session.commit()
        base = current_app.config["BASE_URL"]
        state = "Loaded" if changed else "Already loaded:"
        click.echo(f"{state} demo campaign {base}/en/c/{campaign.slug}")
        click.echo(
            f"Organizer panel: {base}/admin/  login: {organizer.email}  password: {password}"
        )
        click.echo(
            "(A demo account: change its password, or do not run `flask demo` in production.)"
        )

    @app.cli.command("create-organizer")
    @click.option("--email", required=True, help="The address the organizer logs in with.")
    @click.option("--password", required=True, help="At least 10 characters.")
    @click.option("--name", default="", help="The organizer's name.")
    @click.option("--admin", is_flag=True, help="A site admin: sees and manages every campaign.")
    def create_organizer_command(email: str, password: str, name: str, admin: bool):
        """Create an organizer account."""
        from campaign.services.errors import InvalidEmail, OrganizerExists, WeakPassword
        from campaign.services.organizers import MIN_PASSWORD_LENGTH, create_organizer

        try:
            organizer = create_organizer(
                db.session, email=email, password=password, name=name, is_admin=admin
            )
        except InvalidEmail as exc:
            raise click.BadParameter(str(exc), param_hint="--email") from exc
        except WeakPassword as exc:
            raise click.BadParameter(
                f"use at least {MIN_PASSWORD_LENGTH} characters", param_hint="--password"
            ) from exc
        except OrganizerExists as exc:
            raise click.ClickException(f"an organizer with {exc} already exists") from exc
        db.session.commit()
        kind = "site admin" if admin else "organizer"
        click.echo(f"Created {kind} {organizer.email}")

    @app.cli.command("worker")
    @click.option(
        "--interval", default=1.0, show_default=True, help="Seconds between outbox polls."
    )
    @click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
    def worker(interval: float, once: bool):
        """Deliver the outbox: an RQ worker with REDIS_URL, otherwise a polling loop."""
        from campaign.mail.worker import run_polling_worker, run_rq_worker

        if current_app.config.get("REDIS_URL"):
            click.echo("Outbox worker: RQ on REDIS_URL")
            run_rq_worker(current_app._get_current_object(), burst=once)
        else:
            click.echo("Outbox worker: polling the database (set REDIS_URL for RQ)")
            run_polling_worker(current_app._get_current_object(), interval=interval, once=once)

    @app.cli.command("backup")
    @click.option(
        "--output",
        type=click.Path(dir_okay=False, writable=True, path_type=Path),
        help="Where to write it (default: instance/backups/campaign-<UTC time>.<sqlite3|dump>).",
    )
    def backup_command(output: Path | None):
        """Back up the configured database, consistently, while the app runs."""
        from campaign.backups import BackupError, backup, default_backup_path

        url = current_app.config["SQLALCHEMY_DATABASE_URI"]
        output = output or default_backup_path(url, Path(current_app.instance_path) / "backups")
        try:
            done = backup(url, output)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Backed up to {done.path} ({done.size} bytes)")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--yes", is_flag=True, help="Yes, replace everything in the database.")
    def restore_command(path: Path, yes: bool):
        """Replace the configured database's contents with a backup made by `flask backup`."""
        from campaign.backups import BackupError, restore

        url = current_app.config["SQLALCHEMY_DATABASE_URI"]
        if not yes:
            raise click.UsageError(
                "restoring replaces everything in the configured database with the backup; "
                "stop the app and its workers, then run again with --yes"
            )
        db.session.remove()
        db.engine.dispose()  # no pooled connection keeps the old data (or a lock) around
        try:
            restore(url, path)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Restored {path}")

    @app.cli.group("comments")
    def comments():
        """Discussion: moderation."""

    @comments.command("alert")
    def comments_alert():
        """Email moderators about comments newly pending or flagged (once an hour at most)."""
        from campaign.services.moderation import send_moderation_alerts

        alerted = send_moderation_alerts(db.session)
        db.session.commit()
        noun = "campaign" if alerted == 1 else "campaigns"
        click.echo(f"Alerted the moderators of {alerted} {noun}.")

    @app.cli.group("events")
    def events():
        """Rallies: reminders and freed places."""

    @events.command("remind")
    def events_remind():
        """Send due reminders (once per person) and pass on lapsed offers of freed places."""
        from campaign.services.rsvps import run_due

        done = run_due(db.session)
        db.session.commit()
        click.echo(
            f"Sent {done['reminders']} reminder(s); {done['expired_offers']} offer(s) lapsed."
        )

    @app.cli.group("signatures")
    def signatures():
        """Signatures: housekeeping."""

    @signatures.command("purge-unconfirmed")
    @click.option(
        "--days",
        type=click.IntRange(min=1),
        default=None,
        help="Older than this many days (default: UNCONFIRMED_SIGNATURE_DAYS, 30).",
    )
    @click.option("--dry-run", is_flag=True, help="Only say how many would be deleted.")
    def signatures_purge_unconfirmed(days: int | None, dry_run: bool):
        """Delete unconfirmed signatures older than N days (the worker does it daily)."""
        from campaign.services.retention import purge_unconfirmed

        days = days or app.config["UNCONFIRMED_SIGNATURE_DAYS"]
        report = purge_unconfirmed(db.session, days, dry_run=dry_run)
        if dry_run:
            db.session.rollback()
            verb = "Would delete"
        else:
            db.session.commit()
            verb = "Deleted"
        noun = "signature" if report.signatures == 1 else "signatures"
        click.echo(
            f"{verb} {report.signatures} unconfirmed {noun} older than {days} days"
            f" ({report.cutoff:%Y-%m-%d %H:%M} UTC)."
        )
        for slug, n in report.by_campaign.items():
            click.echo(f"  {slug}: {n}")

    @app.cli.group("digests")
    def digests():
        """Organizers' email digests."""

    @digests.command("send")
    def digests_send():
        """Send the digests due now (each once, however often or wherever this runs)."""
        from campaign.services.digests import send_due

        sent = send_due(db.session)
        db.session.commit()
        noun = "digest" if sent == 1 else "digests"
        click.echo(f"Sent {sent} {noun}.")
