"""CacheService: the SQLite fallback (no Redis runs here) and module globals."""
import fnmatch
import json
import os
import time
from datetime import timedelta
from typing import Dict, Iterator, List, Optional

import pytest
from redis import Redis
from sqlalchemy import create_engine, inspect, select
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool

from src.models.cache_models import Base, CacheEntry, utcnow
from src.services import cache_service
from src.services.cache_service import CacheService


def test_module_globals_point_at_test_database(tmp_dir: str) -> None:
    assert str(cache_service.engine.url) == os.environ["CACHE_DATABASE_URL"]
    assert cache_service.engine.url.database == os.path.join(tmp_dir, "cache.db")
    assert "cache_entries" in inspect(cache_service.engine).get_table_names()
    assert cache_service.SessionLocal.kw["bind"] is cache_service.engine
    assert isinstance(cache_service.redis_client, Redis)
    kwargs = cache_service.redis_client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"]) == ("127.0.0.1", 1)


def test_base_metadata_knows_cache_table() -> None:
    assert Base.metadata.tables["cache_entries"] is CacheEntry.__table__
    assert set(CacheEntry.__table__.columns.keys()) == {"key", "value", "created_at"}


def test_redis_is_unreachable_and_fails_fast() -> None:
    started = time.monotonic()
    assert cache_service.redis_available() is False
    assert time.monotonic() - started < 1.0


def test_set_and_get_fall_back_to_sqlite() -> None:
    cache = CacheService(namespace="fallback-test")
    assert cache.backend == "redis"  # optimistic until the first failure
    assert cache.set("answer", {"value": 42, "tags": ["a"]}) == "sqlite"
    assert cache.backend == "sqlite"
    assert cache.get("answer") == {"value": 42, "tags": ["a"]}
    assert cache.get("missing") is None
    assert cache.get("missing", default="dflt") == "dflt"
    assert cache.stats == {"hits": 1, "misses": 2, "redis_errors": 1, "fallback_reads": 3, "fallback_writes": 1}
    with cache_service.SessionLocal() as session:
        entry = session.get(CacheEntry, "fallback-test:answer")
    assert json.loads(entry.value) == {"value": 42, "tags": ["a"]}


def test_overwrite_delete_and_clear() -> None:
    cache = CacheService(namespace="crud-test")
    other = CacheService(namespace="crud-other")
    cache.set("k", 1)
    cache.set("k", 2)
    assert cache.get("k") == 2
    assert cache.delete("k") is True
    assert cache.delete("k") is False
    assert cache.get("k") is None
    for i in range(3):
        cache.set(f"item:{i}", i)
    other.set("keep", "me")
    assert cache.clear() == 3
    assert cache.get("item:0") is None
    assert other.get("keep") == "me"


def test_expired_entries_are_dropped() -> None:
    cache = CacheService(namespace="ttl-test", ttl_seconds=60)
    cache.set("old", "stale")
    with cache_service.SessionLocal() as session:
        entry = session.get(CacheEntry, "ttl-test:old")
        entry.created_at = utcnow() - timedelta(seconds=61)
        session.commit()
    assert cache.get("old") is None
    with cache_service.SessionLocal() as session:
        assert session.get(CacheEntry, "ttl-test:old") is None


def test_redis_is_retried_after_interval() -> None:
    cache = CacheService(namespace="retry-test", redis_retry_interval=0.0)
    cache.set("a", 1)
    cache.get("a")
    assert cache.stats["redis_errors"] == 2  # tried Redis again each time
    assert cache.get("a") == 1


def test_cache_stats_and_purge() -> None:
    CacheService(namespace="stats-test").set("x", "y")
    stats = cache_service.cache_stats()
    assert stats["redis_available"] is False
    assert stats["fallback_entries"] >= 1
    assert stats["database_url"] == os.environ["CACHE_DATABASE_URL"]
    purged = cache_service.purge_fallback_cache()
    assert purged == stats["fallback_entries"]
    assert cache_service.cache_stats()["fallback_entries"] == 0


@pytest.fixture
def memory_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Swap the module's engine and session factory for an in-memory database."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    Base.metadata.create_all(engine)
    monkeypatch.setattr(cache_service, "engine", engine)
    monkeypatch.setattr(cache_service, "SessionLocal", sessionmaker(bind=engine))
    yield engine
    engine.dispose()


def test_reassigned_engine_wins(memory_engine) -> None:
    original_url = os.environ["CACHE_DATABASE_URL"]
    cache = CacheService(namespace="swapped")
    cache.set("color", "teal")
    assert cache.get("color") == "teal"
    with memory_engine.connect() as conn:
        keys = conn.execute(select(CacheEntry.key)).scalars().all()
    assert keys == ["swapped:color"]
    stats = cache_service.cache_stats()
    assert stats["database_url"] == "sqlite://"
    assert stats["fallback_entries"] == 1
    # Nothing reached the file-backed database.
    file_engine = create_engine(original_url)
    try:
        with file_engine.connect() as conn:
            rows = conn.execute(select(CacheEntry.key).where(CacheEntry.key.startswith("swapped:"))).all()
        assert rows == []
    finally:
        file_engine.dispose()


def test_engine_restored_after_monkeypatch() -> None:
    assert str(cache_service.engine.url) == os.environ["CACHE_DATABASE_URL"]
    assert cache_service.SessionLocal.kw["bind"] is cache_service.engine


class InMemoryRedis:
    """Just enough of the Redis API for CacheService."""

    def __init__(self) -> None:
        self.data: Dict[str, bytes] = {}
        self.ttls: Dict[str, int] = {}

    def get(self, key: str) -> Optional[bytes]:
        return self.data.get(key)

    def set(self, key: str, value: str, ex: Optional[int] = None) -> bool:
        self.data[key] = value.encode()
        self.ttls[key] = ex
        return True

    def delete(self, *keys: str) -> int:
        return sum(self.data.pop(key, None) is not None for key in keys)

    def scan_iter(self, match: str) -> List[str]:
        return [key for key in self.data if fnmatch.fnmatch(key, match)]

    def ping(self) -> bool:
        return True


def test_reassigned_redis_client_wins(monkeypatch: pytest.MonkeyPatch, memory_engine) -> None:
    fake = InMemoryRedis()
    monkeypatch.setattr(cache_service, "redis_client", fake)
    cache = CacheService(namespace="redis-path", ttl_seconds=30)
    assert cache.set("k", [1, 2]) == "redis"
    assert fake.data == {"redis-path:k": b"[1, 2]"}
    assert fake.ttls == {"redis-path:k": 30}
    assert cache.get("k") == [1, 2]
    assert cache.get("nope") is None
    assert cache.stats["redis_errors"] == 0 and cache.stats["fallback_reads"] == 0
    assert cache.delete("k") is True
    cache.set("a", 1, ttl_seconds=5)
    cache.set("b", 2)
    assert fake.ttls["redis-path:a"] == 5
    assert cache.clear() == 2
    assert fake.data == {}
    assert cache_service.cache_stats()["redis_available"] is True
    with memory_engine.connect() as conn:
        assert conn.execute(select(CacheEntry.key)).all() == []  # SQLite never touched
