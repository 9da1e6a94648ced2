"""The SQLite audit logger and its module-level proxy."""
import os
import sqlite3

from src.middleware import audit_logger as audit_logger_module
from src.middleware.audit_logger import AuditLogger, AuditLoggerProxy, audit_logger, get_audit_logger


def test_proxy_forwards_to_singleton(tmp_dir: str) -> None:
    assert isinstance(audit_logger, AuditLoggerProxy)
    instance = get_audit_logger()
    assert get_audit_logger() is instance
    assert audit_logger_module._audit_logger_instance is instance
    assert audit_logger.db_path == instance.db_path == os.environ["AUDIT_DB_PATH"]
    assert os.path.dirname(audit_logger.db_path) == tmp_dir
    assert os.path.exists(audit_logger.db_path)
    assert repr(audit_logger) == "<AuditLoggerProxy (initialised)>"


def test_log_event_through_proxy() -> None:
    row_id = audit_logger.log_event("unit_test", client_ip="127.0.0.1", path="/x", details={"n": 1})
    latest = audit_logger.recent_events(1)[0]
    assert latest["id"] == row_id
    assert latest["event_type"] == "unit_test"
    assert latest["client_ip"] == "127.0.0.1"
    assert latest["path"] == "/x"
    assert latest["details"] == {"n": 1}
    assert latest["created_at"].endswith("+00:00")


def test_events_are_persisted_in_sqlite() -> None:
    audit_logger.log_event("persisted_check", details={"answer": 42})
    with sqlite3.connect(audit_logger.db_path) as conn:
        rows = conn.execute(
            "SELECT details FROM audit_events WHERE event_type = 'persisted_check'"
        ).fetchall()
    assert rows == [('{"answer": 42}',)]


def test_security_manager_startup_was_logged() -> None:
    from src.middleware.security import security_manager

    # Constructing the module-level SecurityManager wrote this event.
    assert security_manager.requests_per_minute == 100000
    assert audit_logger.count("security_manager_started") >= 1


def test_standalone_logger(tmp_path) -> None:
    path = tmp_path / "nested" / "audit.db"
    log = AuditLogger(str(path))
    try:
        assert path.exists()
        assert log.count() == 0
        for i in range(5):
            log.log_event("login" if i % 2 else "logout", details={"i": i})
        assert log.count() == 5
        assert log.count("login") == 2
        recent = log.recent_events(3)
        assert [e["details"]["i"] for e in recent] == [4, 3, 2]
        assert [e["details"]["i"] for e in log.recent_events(10, event_type="login")] == [3, 1]
        assert recent[0]["client_ip"] is None
    finally:
        log.close()
    reopened = AuditLogger(str(path))
    try:
        assert reopened.count() == 5  # CREATE TABLE IF NOT EXISTS keeps old rows
    finally:
        reopened.close()


def test_default_path_comes_from_env(monkeypatch, tmp_path) -> None:
    target = tmp_path / "from-env.db"
    monkeypatch.setenv("AUDIT_DB_PATH", str(target))
    log = AuditLogger()
    try:
        assert log.db_path == str(target)
        assert target.exists()
    finally:
        log.close()
