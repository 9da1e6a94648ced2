"""SQLAlchemy models for the SQLite cache fallback."""
from datetime import datetime, timezone

from sqlalchemy import Column, DateTime, String, Text
from sqlalchemy.orm import declarative_base

Base = declarative_base()


def utcnow() -> datetime:
    """Naive UTC timestamp (SQLite stores no time zone)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class CacheEntry(Base):
    """One cached JSON value."""

    __tablename__ = "cache_entries"

    key = Column(String(255), primary_key=True)
    value = Column(Text, nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<CacheEntry key={self.key!r} created_at={self.created_at!s}>"
