"""Middleware behaviour, end to end and unit level."""
from typing import Dict

import pytest
from fastapi.testclient import TestClient

from src.api.main import app, cors_origins, production_domain
from src.middleware import csrf, security
from src.middleware.audit_logger import audit_logger
from src.middleware.csrf import CSRFProtection, csrf_protection
from src.middleware.security import SecurityManager, security_manager
from src.middleware.security_headers import DEFAULT_SECURITY_HEADERS
from src.utils.config import Config

ALLOWED_ORIGIN = "https://shop.example.com"  # first entry of CORS_ORIGINS in conftest


# --- Security headers -----------------------------------------------------------


def test_security_headers_on_every_response(client: TestClient) -> None:
    for path in ("/health", "/products/1", "/products/9999"):
        response = client.get(path)
        for name, value in DEFAULT_SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)


def test_security_middleware_adds_timing_and_quota(client: TestClient, unique_ip: str) -> None:
    response = client.get("/health", headers={"X-Forwarded-For": unique_ip})
    assert response.headers["X-Process-Time"].endswith("ms")
    assert int(response.headers["X-RateLimit-Remaining"]) == security_manager.requests_per_minute - 1


# --- CORS -----------------------------------------------------------------------


def test_cors_origins_come_from_env() -> None:
    assert cors_origins == [ALLOWED_ORIGIN, "https://admin.shop.example.com"]
    assert security_manager.allowed_origins == cors_origins


def test_cors_allowed_origin(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": ALLOWED_ORIGIN})
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "X-Process-Time" in response.headers["access-control-expose-headers"]


def test_cors_disallowed_origin(client: TestClient) -> None:
    response = client.get("/health", headers={"Origin": "https://evil.example.net"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_cors_preflight(client: TestClient) -> None:
    response = client.options(
        "/admin/products",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-CSRF-Token",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "x-csrf-token" in response.headers["access-control-allow-headers"].lower()


# --- Trusted hosts ----------------------------------------------------------------


def test_trusted_host_rejects_unknown_host() -> None:
    evil = TestClient(app, base_url="http://evil.example.net")
    response = evil.get("/health")
    assert response.status_code == 400
    assert response.text == "Invalid host header"


@pytest.mark.parametrize("host", ["shop.example.com", "api.shop.example.com", "localhost", "testserver"])
def test_trusted_host_accepts_known_hosts(host: str) -> None:
    assert production_domain == "shop.example.com"
    response = TestClient(app, base_url=f"http://{host}").get("/health")
    assert response.status_code == 200


# --- CSRF -----------------------------------------------------------------------


def test_csrf_rejects_admin_post_without_token(client: TestClient, admin_headers: Dict[str, str]) -> None:
    response = client.post("/admin/products", json={}, headers=admin_headers)
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": "csrf_failed",
            "message": "Missing or invalid CSRF token",
            "details": {"header": "X-CSRF-Token"},
        }
    }


def test_csrf_rejects_forged_token(client: TestClient, admin_headers: Dict[str, str]) -> None:
    forged = CSRFProtection().generate_token()  # signed with a different secret
    response = client.post("/admin/cache/purge", headers={**admin_headers, "X-CSRF-Token": forged})
    assert response.status_code == 403


def test_csrf_accepts_token_from_endpoint(client: TestClient, admin_headers: Dict[str, str]) -> None:
    token = client.get("/csrf-token").json()["csrf_token"]
    assert csrf_protection.validate_token(token)
    response = client.post("/admin/cache/purge", headers={**admin_headers, "X-CSRF-Token": token})
    assert response.status_code == 200
    assert "purged" in response.json()


def test_csrf_checked_before_admin_auth(client: TestClient) -> None:
    # No admin key and no token: CSRF middleware answers first.
    assert client.post("/admin/cache/purge").status_code == 403
    token = client.get("/csrf-token").json()["csrf_token"]
    assert client.post("/admin/cache/purge", headers={"X-CSRF-Token": token}).status_code == 401


def test_csrf_not_required_for_safe_methods_or_other_paths(
    client: TestClient, admin_headers: Dict[str, str]
) -> None:
    assert client.get("/admin/cache/stats", headers=admin_headers).status_code == 200
    # POST outside /admin needs no token (404 comes from the product lookup).
    assert client.post("/products/4242/image", content=b"x").status_code == 404


def test_csrf_protection_unit() -> None:
    protection = CSRFProtection(max_age_seconds=60)
    assert len(protection.secret_key) >= 32
    token = protection.generate_token(now=1_000_000)
    assert protection.validate_token(token, now=1_000_030)
    assert not protection.validate_token(token, now=1_000_061)  # expired
    assert not protection.validate_token(token, now=999_000)  # issued in the future
    nonce, issued, signature = token.split(".")
    assert not protection.validate_token(f"{nonce}.{int(issued) + 1}.{signature}", now=1_000_030)
    assert not protection.validate_token(f"{nonce}.notanint.{protection._sign(nonce + '.notanint')}")
    assert not protection.validate_token(None)
    assert not protection.validate_token("")
    assert not protection.validate_token("a.b")
    assert CSRFProtection().secret_key != protection.secret_key


@pytest.mark.parametrize(
    "method, path, expected",
    [
        ("POST", "/admin/products", True),
        ("put", "/admin/x", True),
        ("DELETE", "/admin", True),
        ("GET", "/admin/cache/stats", False),
        ("POST", "/administrator", False),
        ("POST", "/products/1/image", False),
    ],
)
def test_csrf_requires_protection(method: str, path: str, expected: bool) -> None:
    assert CSRFProtection.requires_protection(method, path) is expected


def test_module_level_csrf_instance() -> None:
    assert csrf.csrf_protection is csrf_protection
    assert isinstance(csrf_protection, CSRFProtection)
    assert csrf_protection.max_age_seconds == 3600


# --- Rate limiting --------------------------------------------------------------


def test_security_manager_rate_limit_unit() -> None:
    manager = SecurityManager(requests_per_minute=3, window_seconds=10)
    assert [manager.is_rate_limited("1.2.3.4", now=t) for t in (0, 1, 2, 3)] == [False, False, False, True]
    assert manager.blocked_requests == 1
    assert manager.remaining("1.2.3.4", now=3) == 0
    assert not manager.is_rate_limited("5.6.7.8", now=3)  # other clients unaffected
    assert manager.remaining("1.2.3.4", now=10.5) == 1  # the request at t=0 left the window
    assert manager.remaining("1.2.3.4", now=11.5) == 2  # ... and the one at t=1
    assert not manager.is_rate_limited("1.2.3.4", now=11.5)
    manager.reset("1.2.3.4")
    assert manager.remaining("1.2.3.4", now=11.5) == 3
    manager.reset()
    assert manager.remaining("5.6.7.8", now=3) == 3


def test_security_manager_config_and_origins() -> None:
    manager = SecurityManager(config=Config())
    assert manager.requests_per_minute == 100000
    assert manager.is_origin_allowed(ALLOWED_ORIGIN)
    assert not manager.is_origin_allowed("https://evil.example.net")
    assert not manager.is_origin_allowed(None)


def test_security_manager_start_is_audited() -> None:
    before = audit_logger.count("security_manager_started")
    SecurityManager(requests_per_minute=7)
    assert audit_logger.count("security_manager_started") == before + 1
    latest = audit_logger.recent_events(1, event_type="security_manager_started")[0]
    assert latest["details"] == {"message": "security manager started", "requests_per_minute": 7}


def test_module_level_security_manager() -> None:
    assert security.security_manager is security_manager
    assert isinstance(security_manager, SecurityManager)
    assert security_manager.requests_per_minute == 100000


def test_rate_limit_through_middleware(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, unique_ip: str
) -> None:
    strict = SecurityManager(requests_per_minute=2)
    monkeypatch.setattr(security, "security_manager", strict)
    headers = {"X-Forwarded-For": f"{unique_ip}, 10.0.0.1"}
    assert client.get("/health", headers=headers).status_code == 200
    assert client.get("/health", headers=headers).headers["X-RateLimit-Remaining"] == "0"
    blocked = client.get("/health", headers=headers)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "60"
    assert blocked.json()["error"]["code"] == "rate_limited"
    assert strict.blocked_requests == 1
    # A different client still gets through.
    assert client.get("/health", headers={"X-Real-IP": "192.0.2.99"}).status_code == 200
    event = audit_logger.recent_events(1, event_type="rate_limited")[0]
    assert event["client_ip"] == unique_ip
    assert event["path"] == "/health"


def test_rate_limit_restored_after_monkeypatch(client: TestClient, unique_ip: str) -> None:
    assert security.security_manager is security_manager
    for _ in range(5):
        assert client.get("/health", headers={"X-Forwarded-For": unique_ip}).status_code == 200
