"""Two-tier cache: Redis first, SQLite (via SQLAlchemy) when Redis is down.

Engine, session factory and Redis client are module globals, created when the
module is imported.
"""
import json
import logging
import os
import time
from datetime import timedelta
from typing import Any, Dict, Optional

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import create_engine, delete, func, select
from sqlalchemy.orm import sessionmaker

from ..models.cache_models import Base, CacheEntry, utcnow

logger = logging.getLogger(__name__)

engine = create_engine(os.getenv("CACHE_DATABASE_URL", "sqlite:///./cache.db"))
Base.metadata.create_all(engine)
SessionLocal = sessionmaker(bind=engine)
redis_client = Redis.from_url(
    os.getenv("REDIS_URL", "redis://localhost:6379/0"), socket_connect_timeout=0.05
)

DEFAULT_TTL_SECONDS = 300


class CacheService:
    """JSON cache with a namespace, a TTL and a SQLite fallback."""

    def __init__(
        self,
        namespace: str = "shop",
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        redis_retry_interval: float = 30.0,
    ) -> None:
        self.namespace = namespace
        self.ttl_seconds = ttl_seconds
        self.redis_retry_interval = redis_retry_interval
        self.stats: Dict[str, int] = {
            "hits": 0,
            "misses": 0,
            "redis_errors": 0,
            "fallback_reads": 0,
            "fallback_writes": 0,
        }
        self._redis_down_until = 0.0

    def _key(self, key: str) -> str:
        return f"{self.namespace}:{key}"

    def _redis_usable(self) -> bool:
        return time.monotonic() >= self._redis_down_until

    def _mark_redis_down(self, exc: RedisError) -> None:
        self.stats["redis_errors"] += 1
        self._redis_down_until = time.monotonic() + self.redis_retry_interval
        logger.warning("redis unavailable, using SQLite fallback: %s", exc)

    @property
    def backend(self) -> str:
        """``"redis"`` while Redis is considered healthy, else ``"sqlite"``."""
        return "redis" if self._redis_usable() else "sqlite"

    def get(self, key: str, default: Any = None) -> Any:
        """Cached value for ``key`` or ``default``."""
        full_key = self._key(key)
        if self._redis_usable():
            try:
                raw = redis_client.get(full_key)
            except RedisError as exc:
                self._mark_redis_down(exc)
            else:
                return self._decode(raw, default)
        self.stats["fallback_reads"] += 1
        with SessionLocal() as session:
            entry = session.get(CacheEntry, full_key)
            if entry is None:
                return self._decode(None, default)
            if utcnow() - entry.created_at > timedelta(seconds=self.ttl_seconds):
                session.delete(entry)
                session.commit()
                return self._decode(None, default)
            return self._decode(entry.value, default)

    def _decode(self, raw: Optional[Any], default: Any) -> Any:
        if raw is None:
            self.stats["misses"] += 1
            return default
        self.stats["hits"] += 1
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8")
        return json.loads(raw)

    def set(self, key: str, value: Any, ttl_seconds: Optional[int] = None) -> str:
        """Store ``value`` (JSON-serialisable); return the backend that took it."""
        full_key = self._key(key)
        payload = json.dumps(value, sort_keys=True, default=str)
        if self._redis_usable():
            try:
                redis_client.set(full_key, payload, ex=ttl_seconds or self.ttl_seconds)
                return "redis"
            except RedisError as exc:
                self._mark_redis_down(exc)
        self.stats["fallback_writes"] += 1
        with SessionLocal() as session:
            session.merge(CacheEntry(key=full_key, value=payload, created_at=utcnow()))
            session.commit()
        return "sqlite"

    def delete(self, key: str) -> bool:
        """Remove ``key`` from both tiers; True if anything was removed."""
        full_key = self._key(key)
        removed = False
        if self._redis_usable():
            try:
                removed = bool(redis_client.delete(full_key))
            except RedisError as exc:
                self._mark_redis_down(exc)
        with SessionLocal() as session:
            result = session.execute(delete(CacheEntry).where(CacheEntry.key == full_key))
            session.commit()
        return removed or result.rowcount > 0

    def clear(self) -> int:
        """Drop every key in this namespace; return how many were removed."""
        pattern = f"{self.namespace}:"
        removed = 0
        if self._redis_usable():
            try:
                keys = list(redis_client.scan_iter(match=pattern + "*"))
                if keys:
                    removed += int(redis_client.delete(*keys))
            except RedisError as exc:
                self._mark_redis_down(exc)
        with SessionLocal() as session:
            result = session.execute(delete(CacheEntry).where(CacheEntry.key.startswith(pattern)))
            session.commit()
        return removed + result.rowcount


def redis_available() -> bool:
    """Ping Redis once."""
    try:
        return bool(redis_client.ping())
    except RedisError:
        return False


def cache_stats() -> Dict[str, Any]:
    """Row count of the SQLite tier and Redis health, for the admin API."""
    with SessionLocal() as session:
        entries = session.scalar(select(func.count()).select_from(CacheEntry))
    return {
        "database_url": engine.url.render_as_string(hide_password=True),
        "fallback_entries": int(entries or 0),
        "redis_available": redis_available(),
    }


def purge_fallback_cache() -> int:
    """Delete every row of the SQLite tier; return the number removed."""
    with SessionLocal() as session:
        result = session.execute(delete(CacheEntry))
        session.commit()
    return result.rowcount
