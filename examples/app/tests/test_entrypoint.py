"""The Vercel entry point and the app wiring it exposes."""
import os
import sys

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.testclient import TestClient
from starlette.middleware.base import BaseHTTPMiddleware

import api.index
from api.index import app as index_app
from api.index import handler
from src.api.main import app
from src.middleware.security_headers import SecurityHeadersMiddleware

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_index_exposes_the_main_app() -> None:
    assert isinstance(index_app, FastAPI)
    assert index_app is app
    assert handler is app
    assert api.index.handler is api.index.app


def test_index_puts_project_root_on_sys_path() -> None:
    assert os.path.samefile(api.index.project_root, PROJECT_ROOT)
    assert api.index.project_root in sys.path


def test_every_router_is_mounted() -> None:
    # app.routes holds opaque included-router objects in recent FastAPI
    # releases, so read the mounted paths from the OpenAPI schema instead.
    paths = set(app.openapi()["paths"])
    expected = {
        "/health",
        "/csrf-token",
        "/categories",
        "/categories/{slug}",
        "/categories/{slug}/products",
        "/products",
        "/products/{product_id}",
        "/products/{product_id}/image",
        "/admin/audit/recent",
        "/admin/cache/stats",
        "/admin/cache/purge",
        "/admin/products",
    }
    assert expected <= paths


def test_middleware_stack_order() -> None:
    classes = [m.cls for m in app.user_middleware]
    # add_middleware() prepends, so the last registered is first here.
    assert classes == [
        BaseHTTPMiddleware,  # security_middleware
        BaseHTTPMiddleware,  # csrf_middleware
        SecurityHeadersMiddleware,
        CORSMiddleware,
        TrustedHostMiddleware,
    ]
    dispatchers = [m.kwargs.get("dispatch") for m in app.user_middleware[:2]]
    assert [d.__name__ for d in dispatchers] == ["security_middleware", "csrf_middleware"]


def test_app_metadata_and_openapi() -> None:
    assert app.title == "Example Shop API"
    assert app.version == "1.4.0"
    schema = TestClient(index_app).get("/openapi.json").json()
    assert schema["info"]["title"] == "Example Shop API"
    assert "/products/{product_id}/image" in schema["paths"]
    assert "/admin/products" in schema["paths"]


def test_handler_serves_requests() -> None:
    with TestClient(handler) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
