"""gunicorn settings for campaign: `gunicorn -c deploy/gunicorn.conf.py app:app`.

Every value can be overridden from the environment (GUNICORN_*), so one file serves a laptop
and a large machine. Requests mostly wait on PostgreSQL, so each process runs a few threads.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request that takes this long is stuck (a lost database connection): restart the worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that slow leaks never build up; jitter keeps them apart.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "10000"))
max_requests_jitter = 1000
# Only the reverse proxy on this machine may say who the client is (see TRUSTED_PROXIES).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"


def post_worker_init(worker):
    # The comment language detector's model loads in a second: before the first request, not
    # during a signer's.
    from campaign.services.language_detection import warm_up

    warm_up()
