"""Audit trail for security-relevant events, stored in a SQLite file.

The logger itself is created lazily by :func:`get_audit_logger`; the module
exports ``audit_logger``, a proxy that creates it on first attribute access.
"""
import json
import logging
import os
import sqlite3
import threading
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

DEFAULT_AUDIT_DB_PATH = "audit.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    event_type TEXT NOT NULL,
    client_ip TEXT,
    path TEXT,
    details TEXT NOT NULL DEFAULT '{}'
)
"""


class AuditLogger:
    """Append-only event log backed by SQLite."""

    def __init__(self, db_path: Optional[str] = None) -> None:
        self.db_path = db_path or os.getenv("AUDIT_DB_PATH", DEFAULT_AUDIT_DB_PATH)
        directory = os.path.dirname(os.path.abspath(self.db_path))
        os.makedirs(directory, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.db_path, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        with self._lock, self._conn:
            self._conn.execute(_SCHEMA)
        logger.info("audit log opened at %s", self.db_path)

    def log_event(
        self,
        event_type: str,
        client_ip: Optional[str] = None,
        path: Optional[str] = None,
        details: Optional[Dict[str, Any]] = None,
    ) -> int:
        """Record one event and return its row id."""
        created_at = datetime.now(timezone.utc).isoformat()
        payload = json.dumps(details or {}, sort_keys=True, default=str)
        with self._lock, self._conn:
            cursor = self._conn.execute(
                "INSERT INTO audit_events (created_at, event_type, client_ip, path, details) "
                "VALUES (?, ?, ?, ?, ?)",
                (created_at, event_type, client_ip, path, payload),
            )
        return int(cursor.lastrowid)

    def recent_events(self, n: int = 50, event_type: Optional[str] = None) -> List[Dict[str, Any]]:
        """The ``n`` most recent events, newest first, optionally of one type."""
        query = "SELECT id, created_at, event_type, client_ip, path, details FROM audit_events"
        params: List[Any] = []
        if event_type is not None:
            query += " WHERE event_type = ?"
            params.append(event_type)
        query += " ORDER BY id DESC LIMIT ?"
        params.append(int(n))
        with self._lock:
            rows = self._conn.execute(query, params).fetchall()
        return [{**dict(row), "details": json.loads(row["details"])} for row in rows]

    def count(self, event_type: Optional[str] = None) -> int:
        """Number of stored events, optionally of one type."""
        with self._lock:
            if event_type is None:
                row = self._conn.execute("SELECT COUNT(*) FROM audit_events").fetchone()
            else:
                row = self._conn.execute(
                    "SELECT COUNT(*) FROM audit_events WHERE event_type = ?", (event_type,)
                ).fetchone()
        return int(row[0])

    def close(self) -> None:
        """Close the underlying SQLite connection."""
        with self._lock:
            self._conn.close()


_audit_logger_instance: Optional[AuditLogger] = None


def get_audit_logger() -> AuditLogger:
    """Return the process-wide :class:`AuditLogger`, creating it on first use."""
    global _audit_logger_instance
    if _audit_logger_instance is None:
        _audit_logger_instance = AuditLogger()
    return _audit_logger_instance


class AuditLoggerProxy:
    """Stand-in that forwards every attribute to :func:`get_audit_logger`.

    Lets modules write ``from .audit_logger import audit_logger`` without
    opening the database at import time -- until somebody touches it.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(get_audit_logger(), name)

    def __repr__(self) -> str:
        state = "initialised" if _audit_logger_instance is not None else "not initialised"
        return f"<AuditLoggerProxy ({state})>"


audit_logger = AuditLoggerProxy()
