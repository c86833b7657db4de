"""Helpers for journal tests: a context on a temp state dir, and a few audited actions."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from vanta_tui.actions.context import ActionContext
from vanta_tui.actions.orders import approve_orders, reject_orders, stage_order
from vanta_tui.core.enums import Side
from vanta_tui.core.models import FollowersFile
from vanta_tui.store import update


def without_followers(state_dir: Path) -> None:
    """Before the journal starts, move V_CORE's followers to V_INCOME: approvals of V_CORE
    orders then add no mirror events, so these tests can count their own actions' events.
    (They stay registered: the demo queue holds child orders of theirs.)"""

    def move(followers: FollowersFile) -> None:
        for follower in followers.followers:
            if follower.vault_id == "V_CORE":
                follower.vault_id = "V_INCOME"

    update(state_dir, FollowersFile, move)


def do_actions(ctx: ActionContext, rounds: int) -> None:
    """Stage, approve and reject orders: each an audited action."""
    for index in range(rounds):
        staged = stage_order(
            ctx, vault_id="V_CORE", symbol="MSFT", side=Side.BUY, qty=Decimal(index % 3 + 1),
            allow_duplicate=True,  # the same small buys again and again, on purpose
        ).result  # fmt: skip
        if index % 3 == 2:
            reject_orders(ctx, [staged.order_id], reason="not today")
        else:
            approve_orders(ctx, [staged.order_id])


def run_actions(state_dir: str, rounds: int) -> None:
    """Entry point for child processes."""
    ctx = ActionContext.open(Path(state_dir), "crash-test")
    try:
        do_actions(ctx, rounds)
    finally:
        ctx.close()


def db_name() -> str:
    """How the journal's messages name its database (on the backend this test runs on)."""
    return "the PostgreSQL journal" if os.environ.get("VANTA_JOURNAL_URL") else "vanta.db"


@contextmanager
def raw_journal_db(state_dir: Path) -> Iterator[Any]:
    """The journal's database as another program would open it (to tamper with it): SQLite's
    ``vanta.db``, or the PostgreSQL database of `VANTA_JOURNAL_URL` (its SQL said in
    SQLite's words, as the journal does). Autocommit."""
    url = os.environ.get("VANTA_JOURNAL_URL")
    if url:
        from vanta_tui.store.postgres.journal_db import PgJournalConnection

        pg = PgJournalConnection(url)
        try:
            yield pg
        finally:
            pg.close()
        return
    conn = sqlite3.connect(state_dir / "vanta.db", isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def open_raw(state_dir: Path) -> Any:
    """`raw_journal_db` without the context (close it): sqlite3's connection, or ours."""
    url = os.environ.get("VANTA_JOURNAL_URL")
    if url:
        from vanta_tui.store.postgres.journal_db import PgJournalConnection

        return PgJournalConnection(url)
    return sqlite3.connect(state_dir / "vanta.db", isolation_level=None)


def save_database(state_dir: Path) -> Any:
    """A copy of the journal's database as it is now (no connection may be open to it):
    the file, or a PostgreSQL database made from it as a template. `put_back_database`
    puts it back over the current one (an operator restoring an older backup)."""
    url = os.environ.get("VANTA_JOURNAL_URL")
    if not url:
        saved = state_dir.parent / "vanta.db.saved"
        shutil.copyfile(state_dir / "vanta.db", saved)
        return saved
    name = _database(url)
    with _maintenance(url) as conn:
        _end_sessions(conn, name)  # this process's lock session, a feed's: a template has none
        conn.execute(f"CREATE DATABASE {name}_saved TEMPLATE {name}")
    return f"{name}_saved"


def _end_sessions(conn: Any, name: str) -> None:
    conn.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s",
        (name,),
    )


def put_back_database(state_dir: Path, saved: Any) -> None:
    url = os.environ.get("VANTA_JOURNAL_URL")
    if not url:
        for extra in ("vanta.db-wal", "vanta.db-shm"):
            (state_dir / extra).unlink(missing_ok=True)
        shutil.copyfile(saved, state_dir / "vanta.db")
        return
    name = _database(url)
    with _maintenance(url) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {saved}")


def _database(url: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(url)["dbname"])


def _maintenance(url: str) -> Any:
    import psycopg
    from psycopg.conninfo import make_conninfo

    return psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True)
