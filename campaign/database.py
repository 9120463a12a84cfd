"""Database connection settings that SQLAlchemy leaves to the application."""

from __future__ import annotations

import sqlite3

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy, not pysqlite, begin transactions, so SAVEPOINT works (see the
    # "Serializable isolation / Savepoints" section of SQLAlchemy's SQLite dialect docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL lets the worker and the web process read while the other writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    if connection.dialect.name != "sqlite":
        return
    if connection.get_execution_options().get("sqlite_immediate"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


_WRITE_LOCK = "sqlite_write_lock"


def begin_write(session: Session) -> None:
    """Make sure the session's transaction may write without being refused.

    On SQLite a transaction that read first and writes later gets SQLITE_BUSY at once when
    another connection wrote meanwhile (the busy timeout does not apply, and its snapshot can
    never be written from). So a writing transaction takes the write lock at BEGIN, where it
    waits its turn; a transaction that has only read so far is ended first, which loses nothing.
    Elsewhere this does nothing: PostgreSQL waits on row locks by itself.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.get_bind().dialect.name != "sqlite" or session.info.get(_WRITE_LOCK):
        return
    if session.new or session.dirty or session.deleted:
        return  # unflushed changes: ending the transaction would lose them; flush decides
    if session.in_transaction():
        session.rollback()
    session.connection(execution_options={"sqlite_immediate": True})
    session.info[_WRITE_LOCK] = True


@event.listens_for(Session, "after_flush")
def _flushed(session, flush_context):
    # A flush wrote, so the transaction holds SQLite's write lock already.
    session.info[_WRITE_LOCK] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(orm_execute_state):
    if orm_execute_state.is_insert or orm_execute_state.is_update or orm_execute_state.is_delete:
        orm_execute_state.session.info[_WRITE_LOCK] = True


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session, transaction):
    if transaction.parent is None:
        session.info.pop(_WRITE_LOCK, None)


def init_app(app: Flask) -> None:
    from campaign.extensions import db

    @app.before_request
    def _writes_take_the_lock_first():
        if request.method in WRITE_METHODS:
            begin_write(db.session)
