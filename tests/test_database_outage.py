"""The database goes away: a friendly 503 page, nothing half-written, and recovery without a
restart (campaign/errors.py, `pool_pre_ping`).

On PostgreSQL a real outage: the app reaches the server through a small TCP proxy (a thread on
127.0.0.1) that the test cuts and restores. On SQLite: a database whose directory is not there
yet (a volume not mounted), then is.
"""

from __future__ import annotations

import re
import select as select_module
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from campaign import create_app
from campaign.extensions import db as _db
from campaign.models import OutboxMessage, Signature
from tests.conftest import test_config as make_config
from tests.factories import make_campaign

SIGNER = {"full_name": "Amira Haddad", "email": "amira@example.org", "country": "FR"}


def visible_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server; `cut()` drops every connection and refuses new
    ones (accepts and closes them at once), `restore()` lets them through again."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                server = socket.create_connection(self.target, timeout=3)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, server))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        sockets = [client, server]
        try:
            while True:
                readable, _, _ = select_module.select(sockets, [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (server if sock is client else client).sendall(data)
        except OSError:
            return
        finally:
            for sock in sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()


# --- PostgreSQL, through the proxy ------------------------------------------------------------


@pytest.fixture
def proxy(database_url):
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        pytest.skip("a TCP outage needs a database server (see the SQLite tests below)")
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    yield proxy
    proxy.close()


@pytest.fixture
def app_config(database_url, sendgrid, request):
    if "proxy" not in request.fixturenames:
        return make_config(database_url, sendgrid)
    proxy = request.getfixturevalue("proxy")
    url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
    proxied = url.render_as_string(hide_password=False)
    # Production's engine options (see config.py): a dead pooled connection is noticed.
    return make_config(proxied, sendgrid, SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True})


@pytest.fixture
def petition(db):
    campaign = make_campaign(slug="clean-air", title="Clean air")
    db.session.commit()
    return campaign


def _counts(db) -> tuple[int, int]:
    db.session.rollback()
    return (
        db.session.scalar(select(func.count()).select_from(Signature)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
    )


def assert_friendly_503(response, lang: str = "en") -> None:
    assert response.status_code == 503
    assert response.content_type.startswith("text/html")
    assert int(response.headers["Retry-After"]) > 0
    assert f'<html lang="{lang}"' in response.text
    assert "Traceback" not in response.text
    if lang == "en":
        page = visible_text(response.text)
        assert "We are back in a moment" in page
        assert "Nothing you sent was saved" in page


def test_an_outage_gets_a_friendly_503_and_the_app_recovers_by_itself(client, db, petition, proxy):
    assert client.get("/en/c/clean-air").status_code == 200

    proxy.cut()
    assert_friendly_503(client.get("/en/c/clean-air"))
    assert_friendly_503(client.post("/en/c/clean-air", data=SIGNER))
    assert_friendly_503(client.get("/ru/c/clean-air"), lang="ru")
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["database"] == "unreachable"
    assert int(health.headers["Retry-After"]) > 0  # load balancers know when to look again

    proxy.restore()
    # The same app, not restarted: its pool drops the dead connections and opens new ones.
    assert client.get("/healthz").status_code == 200
    assert client.get("/en/c/clean-air").status_code == 200
    assert client.post("/en/c/clean-air", data=SIGNER).status_code == 302
    assert _counts(db) == (1, 1)


def test_a_signature_cut_off_at_commit_leaves_nothing_behind(client, db, petition, proxy):
    def cut_before_commit(session, *args):
        # The signature and its email are flushed; the connection dies before COMMIT.
        if any(isinstance(obj, Signature) for obj in session.identity_map.values()):
            proxy.cut()

    event.listen(Session, "before_commit", cut_before_commit)
    try:
        response = client.post("/en/c/clean-air", data=SIGNER)
    finally:
        event.remove(Session, "before_commit", cut_before_commit)
    assert_friendly_503(response)

    proxy.restore()
    # Neither the signature nor its confirmation email: the transaction died as a whole.
    assert _counts(db) == (0, 0)
    assert client.post("/en/c/clean-air", data=SIGNER).status_code == 302
    assert _counts(db) == (1, 1)


def test_a_query_error_is_still_a_500_not_an_outage(app_config, petition):
    from sqlalchemy import text

    app = create_app({**app_config, "TESTING": False, "PROPAGATE_EXCEPTIONS": False})

    @app.route("/bad-query")
    def bad_query():
        _db.session.execute(text("SELECT * FROM no_such_table"))
        return "unreachable"

    response = app.test_client().get("/bad-query")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers


# --- SQLite: the file's directory is not there, then is ---------------------------------------


@pytest.fixture
def missing_sqlite(tmp_path, sendgrid, mail):
    """An app on a SQLite file under a directory that does not exist yet."""
    folder = tmp_path / "volume"
    path = folder / "campaign.sqlite3"
    app = create_app(make_config(f"sqlite:///{path}", sendgrid))
    yield app, path
    with app.app_context():
        _db.engine.dispose()


def _create_database(path: Path) -> None:
    path.parent.mkdir()
    engine = create_engine(f"sqlite:///{path}")
    _db.metadata.create_all(engine)
    engine.dispose()


def test_sqlite_file_out_of_reach_gets_503_then_works_once_it_is_there(missing_sqlite):
    app, path = missing_sqlite
    client = app.test_client()

    assert_friendly_503(client.get("/en/"))
    assert_friendly_503(client.post("/en/c/clean-air", data=SIGNER))
    assert client.get("/healthz").status_code == 503

    _create_database(path)
    with app.app_context():
        make_campaign(slug="clean-air")
        _db.session.commit()
        _db.session.remove()
    assert client.get("/healthz").status_code == 200
    assert client.post("/en/c/clean-air", data=SIGNER).status_code == 302
    with app.app_context():
        assert _db.session.scalar(select(func.count()).select_from(Signature)) == 1
