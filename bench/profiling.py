"""gunicorn settings for `bench.run --profile`: a CPU profile of every request, per worker.

Loaded with `gunicorn -c bench/profiling.py`. Each worker thread gets a cProfile profiler
(cProfile follows one thread only) that runs around each request while the file named by
BENCH_PROFILE_FLAG exists, so the runner profiles the mixed load and nothing else. The timer
is the thread's CPU time: on two cores CPU is the scarce thing, and wall time would also count
the time a thread waits for the GIL. Each worker writes its stats at exit.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import threading
import time

_FLAG = os.environ.get("BENCH_PROFILE_FLAG", "")
_OUT = os.environ.get("BENCH_PROFILE_DIR", "")


class ProfiledApp:
    """WSGI middleware: profile the request (body included) when the flag file exists."""

    def __init__(self, app):
        self.app = app
        self.local = threading.local()
        self.profilers: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if not os.path.exists(_FLAG):
            return self.app(environ, start_response)
        profiler = getattr(self.local, "profiler", None)
        if profiler is None:
            profiler = self.local.profiler = cProfile.Profile(time.thread_time)
            with self.lock:
                self.profilers.append(profiler)
        profiler.enable()
        try:
            return list(self.app(environ, start_response))
        finally:
            profiler.disable()

    def dump(self, path: str) -> None:
        with self.lock:
            profilers = [p for p in self.profilers if p.getstats()]
        if profilers:
            pstats.Stats(*profilers).dump_stats(path)


def post_worker_init(worker):
    worker.wsgi = ProfiledApp(worker.wsgi)


def worker_exit(server, worker):
    if isinstance(worker.wsgi, ProfiledApp) and _OUT:
        worker.wsgi.dump(os.path.join(_OUT, f"worker-{worker.pid}.prof"))
