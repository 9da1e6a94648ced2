"""FastAPI application for the Example Shop.

Importing this module builds the whole app: middleware, handlers and routers.
"""
import logging
import os
from typing import Any, Dict

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.trustedhost import TrustedHostMiddleware
from fastapi.responses import JSONResponse

from ..exceptions import ShopError
from ..middleware.csrf import CSRF_HEADER_NAME, csrf_middleware, csrf_protection
from ..middleware.security import security_middleware
from ..middleware.security_headers import SecurityHeadersMiddleware
from ..utils.config import Config

logger = logging.getLogger(__name__)

config = Config.from_env()

app = FastAPI(
    title="Example Shop API",
    description="Catalogue, product image analysis and admin tools for the example shop.",
    version=config.version,
    docs_url="/docs",
    redoc_url="/redoc",
)

# --- Middleware -------------------------------------------------------------
# Registration order matters: the last one added is the outermost layer.

production_domain = os.getenv("PRODUCTION_DOMAIN", "shop.example.com")
app.add_middleware(
    TrustedHostMiddleware,
    allowed_hosts=[production_domain, f"*.{production_domain}", "testserver", "localhost"],
)

cors_origins_str = os.getenv("CORS_ORIGINS", "https://shop.example.com")
cors_origins = [origin.strip() for origin in cors_origins_str.split(",") if origin.strip()]
app.add_middleware(
    CORSMiddleware,
    allow_origins=cors_origins,
    allow_credentials=True,
    allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
    allow_headers=["Content-Type", "X-Admin-Key", CSRF_HEADER_NAME],
    expose_headers=["X-Process-Time", "X-RateLimit-Remaining"],
)

app.add_middleware(SecurityHeadersMiddleware)

app.middleware("http")(csrf_middleware)

app.middleware("http")(security_middleware)


# --- Error handling -----------------------------------------------------------


@app.exception_handler(ShopError)
async def shop_error_handler(request: Request, exc: ShopError) -> JSONResponse:
    """Render domain errors as ``{"error": {...}, "path": ...}``."""
    logger.info("%s on %s: %s", exc.code, request.url.path, exc.message)
    return JSONResponse(status_code=exc.status_code, content={**exc.to_dict(), "path": request.url.path})


# --- Core routes --------------------------------------------------------------


@app.get("/health")
async def health() -> Dict[str, Any]:
    """Liveness probe."""
    return {
        "status": "healthy",
        "service": config.app_name,
        "version": config.version,
        "environment": config.environment,
    }


@app.get("/csrf-token")
async def get_csrf_token() -> Dict[str, Any]:
    """Issue a token for unsafe requests under ``/admin``."""
    return {
        "csrf_token": csrf_protection.generate_token(),
        "header_name": CSRF_HEADER_NAME,
        "expires_in": csrf_protection.max_age_seconds,
    }


# --- Routers ------------------------------------------------------------------
# Imported at the bottom, after ``app`` exists, to dodge circular imports.

from .endpoints.categories import router as categories_router  # noqa: E402
from .endpoints.products import router as products_router  # noqa: E402
from .endpoints.admin import router as admin_router  # noqa: E402

app.include_router(categories_router, prefix="/categories", tags=["categories"])
app.include_router(products_router, prefix="/products", tags=["products"])
app.include_router(admin_router, prefix="/admin", tags=["admin"])
