"""Shared fixtures.

The environment is configured at import time -- before any test module
imports the app -- because the app opens SQLite files and builds its Redis
client while it is being imported.
"""
import atexit
import io
import itertools
import os
import shutil
import tempfile
from typing import Callable, Dict, Iterator, Tuple

import pytest

_TMP_DIR = tempfile.mkdtemp(prefix="example-shop-tests-")
atexit.register(shutil.rmtree, _TMP_DIR, ignore_errors=True)

ADMIN_KEY = "test-admin-key"
ALLOWED_ORIGIN = "https://shop.example.com"

os.environ["AUDIT_DB_PATH"] = os.path.join(_TMP_DIR, "audit.db")
os.environ["CACHE_DATABASE_URL"] = "sqlite:///" + os.path.join(_TMP_DIR, "cache.db")
os.environ["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there: fails fast
os.environ["ADMIN_API_KEY"] = ADMIN_KEY
os.environ["CORS_ORIGINS"] = ALLOWED_ORIGIN + ",https://admin.shop.example.com"
os.environ["PRODUCTION_DOMAIN"] = "shop.example.com"
os.environ["RATE_LIMIT_PER_MINUTE"] = "100000"
os.environ["ENVIRONMENT"] = "test"

from fastapi.testclient import TestClient  # noqa: E402

from src.api.main import app  # noqa: E402


@pytest.fixture(scope="session")
def tmp_dir() -> str:
    """The directory holding the session's audit and cache databases."""
    return _TMP_DIR


@pytest.fixture
def client() -> Iterator[TestClient]:
    """A test client for the real application."""
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def admin_headers() -> Dict[str, str]:
    return {"X-Admin-Key": ADMIN_KEY}


@pytest.fixture
def csrf_headers(client: TestClient, admin_headers: Dict[str, str]) -> Dict[str, str]:
    """Admin key plus a CSRF token fetched from ``/csrf-token``."""
    token = client.get("/csrf-token").json()["csrf_token"]
    return {**admin_headers, "X-CSRF-Token": token}


_ip_counter = itertools.count(1)


@pytest.fixture
def unique_ip() -> str:
    """A client address no other test uses (for rate-limit isolation)."""
    return f"203.0.113.{next(_ip_counter)}"


@pytest.fixture
def make_png() -> Callable[..., bytes]:
    """Factory for small in-memory PNG images."""
    from PIL import Image

    def _make(size: Tuple[int, int] = (64, 48), color: Tuple[int, int, int] = (200, 30, 60), split: bool = False) -> bytes:
        img = Image.new("RGB", size, color)
        if split:
            # Left half black, right half white: a high-contrast pattern.
            for x in range(size[0]):
                for y in range(size[1]):
                    img.putpixel((x, y), (0, 0, 0) if x < size[0] // 2 else (255, 255, 255))
        buffer = io.BytesIO()
        img.save(buffer, format="PNG")
        return buffer.getvalue()

    return _make
