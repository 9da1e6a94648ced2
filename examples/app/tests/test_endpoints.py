"""Every HTTP endpoint, through the real middleware stack."""
from typing import Callable, Dict

from fastapi.testclient import TestClient

from src.api.main import app


def test_health(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "healthy",
        "service": "Example Shop API",
        "version": "1.4.0",
        "environment": "test",
    }


def test_csrf_token_endpoint(client: TestClient) -> None:
    body = client.get("/csrf-token").json()
    assert body["header_name"] == "X-CSRF-Token"
    assert body["expires_in"] == 3600
    assert body["csrf_token"].count(".") == 2
    assert body["csrf_token"] != client.get("/csrf-token").json()["csrf_token"]


def test_list_categories(client: TestClient) -> None:
    categories = client.get("/categories").json()["categories"]
    by_slug = {c["slug"]: c for c in categories}
    assert {"mugs", "posters", "stickers"} <= set(by_slug)
    assert by_slug["stickers"]["name"] == "Stickers"
    assert by_slug["stickers"]["product_count"] >= 1


def test_get_category(client: TestClient) -> None:
    response = client.get("/categories/posters")
    assert response.status_code == 200
    assert response.json()["description"] == "Art prints and posters"


def test_unknown_category_uses_custom_error_handler(client: TestClient) -> None:
    response = client.get("/categories/spaceships")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "category_not_found",
            "message": "Category 'spaceships' does not exist",
            "details": {"slug": "spaceships"},
        },
        "path": "/categories/spaceships",
    }


def test_category_products(client: TestClient) -> None:
    body = client.get("/categories/mugs/products").json()
    assert body["category"] == "mugs"
    names = {p["name"] for p in body["products"]}
    assert {"Classic Mug", "Enamel Camp Mug"} <= names
    assert body["count"] == len(body["products"])
    assert all(p["category"] == "mugs" for p in body["products"])


def test_list_products_with_filters(client: TestClient) -> None:
    everything = client.get("/products").json()
    assert everything["count"] >= 5
    posters = client.get("/products", params={"category": "posters"}).json()["products"]
    assert {p["id"] for p in posters} >= {3, 4}
    assert all(p["category"] == "posters" for p in posters)
    search = client.get("/products", params={"q": "MAP"}).json()["products"]
    assert [p["name"] for p in search] == ["City Map Poster"]
    assert client.get("/products", params={"category": "nope"}).status_code == 404


def test_get_product_and_not_found(client: TestClient) -> None:
    product = client.get("/products/5").json()
    assert product["name"] == "Laptop Sticker Pack"
    assert product["price_cents"] == 600
    missing = client.get("/products/9999")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "product_not_found"
    assert missing.json()["error"]["details"] == {"product_id": 9999}


def test_validation_errors_are_fastapi_422(client: TestClient) -> None:
    response = client.get("/products/not-a-number")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "product_id"]


def test_product_image_analysis(client: TestClient, make_png: Callable[..., bytes]) -> None:
    data = make_png(size=(300, 200), color=(10, 120, 250))
    response = client.post("/products/1/image", content=data, headers={"Content-Type": "image/png"})
    assert response.status_code == 200
    body = response.json()
    assert body["product_id"] == 1
    assert (body["width"], body["height"]) == (300, 200)
    assert body["thumbnail_size"] == [128, 85]
    assert body["average_color"] == [10, 120, 250]
    assert body["embedding_length"] == 64
    assert body["embedding_backend"] == "numpy-fallback"
    assert len(body["fingerprint"]) == 16
    assert len(body["content_hash"]) == 64


def test_product_image_errors(client: TestClient, make_png: Callable[..., bytes]) -> None:
    garbage = client.post("/products/1/image", content=b"definitely not a png")
    assert garbage.status_code == 422
    assert garbage.json()["error"]["code"] == "invalid_image"
    assert garbage.json()["error"]["details"] == {"bytes": 20}
    empty = client.post("/products/1/image", content=b"")
    assert empty.status_code == 422
    assert "empty" in empty.json()["error"]["message"]
    unknown = client.post("/products/4242/image", content=make_png())
    assert unknown.status_code == 404


def test_admin_requires_key(client: TestClient) -> None:
    for headers in ({}, {"X-Admin-Key": "wrong"}):
        response = client.get("/admin/cache/stats", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "admin_auth_failed"
        assert response.json()["path"] == "/admin/cache/stats"


def test_admin_recent_audit_events(client: TestClient, admin_headers: Dict[str, str]) -> None:
    client.get("/admin/cache/stats", headers={"X-Admin-Key": "bad", "X-Forwarded-For": "198.51.100.7"})
    response = client.get("/admin/audit/recent", params={"limit": 50}, headers=admin_headers)
    assert response.status_code == 200
    events = response.json()["events"]
    assert events[0]["event_type"] == "admin_access"
    assert events[0]["path"] == "/admin/audit/recent"
    failed = [e for e in events if e["event_type"] == "admin_auth_failed"]
    assert failed and failed[0]["client_ip"] == "198.51.100.7"
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True)

    only_started = client.get(
        "/admin/audit/recent", params={"event_type": "security_manager_started"}, headers=admin_headers
    ).json()
    assert only_started["count"] >= 1
    assert only_started["events"][0]["details"]["message"] == "security manager started"
    assert client.get("/admin/audit/recent", params={"limit": 0}, headers=admin_headers).status_code == 422


def test_admin_cache_stats(client: TestClient, admin_headers: Dict[str, str], tmp_dir: str) -> None:
    client.get("/products/2")  # populate the catalogue cache
    stats = client.get("/admin/cache/stats", headers=admin_headers).json()
    assert stats["redis_available"] is False
    assert stats["database_url"].startswith("sqlite:///")
    assert stats["database_url"].endswith("cache.db")
    assert tmp_dir in stats["database_url"]
    assert stats["fallback_entries"] >= 1
    assert stats["catalogue_cache"]["backend"] == "sqlite"
    assert stats["catalogue_cache"]["fallback_writes"] >= 1
    assert stats["blocked_requests"] >= 0


def test_admin_cache_purge_requires_csrf(client: TestClient, admin_headers: Dict[str, str]) -> None:
    response = client.post("/admin/cache/purge", headers=admin_headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_admin_cache_purge(client: TestClient, csrf_headers: Dict[str, str], admin_headers: Dict[str, str]) -> None:
    client.get("/products/3")
    response = client.post("/admin/cache/purge", headers=csrf_headers)
    assert response.status_code == 200
    assert response.json()["purged"] >= 1
    assert client.get("/admin/cache/stats", headers=admin_headers).json()["fallback_entries"] == 0
    events = client.get("/admin/audit/recent", params={"event_type": "cache_purged"}, headers=admin_headers).json()
    assert events["events"][0]["details"]["purged"] == response.json()["purged"]


def test_admin_create_product(client: TestClient, csrf_headers: Dict[str, str]) -> None:
    before = client.get("/categories/stickers").json()["product_count"]
    client.get("/products", params={"category": "stickers"})  # warm the listing cache
    payload = {"name": "Holo Cat Sticker", "category": "stickers", "price_cents": 350, "tags": ["holo"]}
    response = client.post("/admin/products", json=payload, headers=csrf_headers)
    assert response.status_code == 201
    created = response.json()
    assert created["name"] == "Holo Cat Sticker"
    assert created["id"] > 5
    # The cached listing was invalidated, so the new product shows up.
    listed = client.get("/products", params={"category": "stickers"}).json()["products"]
    assert created["id"] in {p["id"] for p in listed}
    assert client.get(f"/products/{created['id']}").json() == created
    assert client.get("/categories/stickers").json()["product_count"] == before + 1


def test_admin_create_product_errors(client: TestClient, csrf_headers: Dict[str, str]) -> None:
    unknown = client.post(
        "/admin/products", json={"name": "X", "category": "boats", "price_cents": 1}, headers=csrf_headers
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "category_not_found"
    invalid = client.post(
        "/admin/products", json={"name": "", "category": "mugs", "price_cents": -5}, headers=csrf_headers
    )
    assert invalid.status_code == 422


def test_docs_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert app.openapi()["info"]["version"] == "1.4.0"
