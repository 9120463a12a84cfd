"""campaign: a petition and advocacy platform."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from campaign import cli, database, errors, form_fields, i18n, security, static_files
from campaign.config import load_config
from campaign.extensions import babel, csrf, db, limiter, login_manager, migrate
from campaign.mail import worker

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, commands. Touches no database or network."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(load_config(Path(app.instance_path)))
    if config:
        app.config.update(config)
    proxies = app.config.get("TRUSTED_PROXIES", 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )

    db.init_app(app)
    database.init_app(app)
    form_fields.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)
    login_manager.init_app(app)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    i18n.init_app(app)
    worker.init_app(app)
    static_files.init_app(app)
    security.init_app(app)

    from campaign.admin import bp as admin_bp
    from campaign.api import bp as api_bp
    from campaign.public import bp as public_bp
    from campaign.public import page_cache
    from campaign.webhooks import bp as webhooks_bp

    app.register_blueprint(public_bp)
    page_cache.init_app(app)
    app.register_blueprint(admin_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(webhooks_bp)
    errors.init_app(app)
    cli.init_app(app)
    return app
