"""The journal: an append-only SQLite event store that every decision is written to first.

Every event (trial created, segment started, result, paused, promoted, stopped, completed,
failed, checkpoint, run started/ended) is one row, committed before the decision it causes
is carried out, so a search killed at any instant (Ctrl-C, kill -9, a lost head node) can be
rebuilt by replaying the rows in order (the same idea as Optuna's journal storage).

SQLite runs in WAL mode so `rung status` can read beside a running search without blocking
it. `synchronous=NORMAL` survives a killed process (the WAL lives in the OS page cache) but
not a power cut of the machine; `durability="full"` fsyncs every commit for that.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time as _time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

JOURNAL_FILE = "journal.sqlite"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq   INTEGER PRIMARY KEY,
    kind  TEXT    NOT NULL,
    trial INTEGER,
    time  REAL    NOT NULL,   -- experiment clock: wall seconds or simulated seconds
    wall  REAL    NOT NULL,   -- unix time when written
    data  TEXT    NOT NULL    -- JSON object
);
"""


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    trial: int | None
    time: float
    wall: float
    data: dict[str, Any]


class JournalError(Exception):
    """The journal is missing, unreadable or from an incompatible version."""


def _dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=True)


class Journal:
    """Append-only event log of one search; see the module docstring."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
        self._conn = conn
        self.path = path
        self.readonly = readonly
        self._buffer: list[tuple[str, int | None, float, float, str]] = []

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(cls, directory: Path, meta: dict[str, Any], durability: str = "normal") -> "Journal":
        """Start the journal of a new search in `directory`; refuses an existing one."""
        path = Path(directory) / JOURNAL_FILE
        if path.exists():
            raise FileExistsError(str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Built under a temporary name and renamed: a kill during creation never leaves a
        # half-made journal where `rung resume` would look for one.
        tmp = path.with_name(path.name + ".creating")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.executescript(_SCHEMA)
            rows = {"schema_version": SCHEMA_VERSION, "created": _time.time(), **meta}
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", [(k, json.dumps(v)) for k, v in rows.items()])
            conn.execute("COMMIT")
        finally:
            conn.close()
        os.replace(tmp, path)
        return cls._connect(path, readonly=False, durability=durability)

    @classmethod
    def open(cls, directory: Path, readonly: bool = False, durability: str = "normal") -> "Journal":
        path = Path(directory) / JOURNAL_FILE
        if not path.is_file():
            raise JournalError(f"{directory}: no search here (no {JOURNAL_FILE})")
        journal = cls._connect(path, readonly=readonly, durability=durability)
        try:
            version = journal.meta().get("schema_version")
        except sqlite3.DatabaseError as err:
            raise JournalError(f"{path}: not a rung journal ({err})") from None
        if version != SCHEMA_VERSION:
            raise JournalError(f"{path}: journal schema {version}, this rung reads {SCHEMA_VERSION}")
        return journal

    @classmethod
    def _connect(cls, path: Path, readonly: bool, durability: str) -> "Journal":
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0, isolation_level=None)
        else:
            conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        conn.execute("PRAGMA busy_timeout=30000")
        return cls(conn, path, readonly)

    # ------------------------------------------------------------------ writing
    def append(self, kind: str, trial: int | None, time: float, **data: Any) -> None:
        """Buffer one event; it becomes durable at the next `commit()`."""
        self._buffer.append((kind, trial, float(time), _time.time(), _dumps(data)))

    def commit(self) -> None:
        """Make every buffered event durable, in one transaction."""
        if not self._buffer:
            return
        conn = self._conn
        conn.execute("BEGIN")
        try:
            conn.executemany("INSERT INTO events(kind, trial, time, wall, data) VALUES (?, ?, ?, ?, ?)", self._buffer)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._buffer.clear()

    def set_meta(self, key: str, value: Any) -> None:
        with self._conn:
            self._conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # ------------------------------------------------------------------ reading
    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self._conn.execute("SELECT key, value FROM meta")}

    def events(self, since: int = 0, kinds: tuple[str, ...] | None = None) -> Iterator[Event]:
        """Committed events in order (`seq > since`), optionally only some kinds."""
        sql = "SELECT seq, kind, trial, time, wall, data FROM events WHERE seq > ?"
        args: list[Any] = [since]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            args.extend(kinds)
        sql += " ORDER BY seq"
        for seq, kind, trial, t, wall, data in self._conn.execute(sql, args):
            yield Event(seq, kind, trial, t, wall, json.loads(data))

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        return self._conn.execute("SELECT COUNT(*) FROM events WHERE kind = ?", (kind,)).fetchone()[0]

    def last_time(self) -> float:
        """The latest experiment-clock time written (where a resumed clock continues)."""
        value = self._conn.execute("SELECT MAX(time) FROM events").fetchone()[0]
        return float(value) if value is not None else 0.0

    def close(self) -> None:
        try:
            if not self.readonly:
                self.commit()
        finally:
            self._conn.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
