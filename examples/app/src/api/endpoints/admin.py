"""Admin endpoints: audit trail, cache management, catalogue edits."""
import os
import secrets
from typing import Any, Dict, List, Optional

from fastapi import APIRouter, Depends, Header, Query, Request
from pydantic import BaseModel, Field

from ...exceptions import AdminAuthError
from ...middleware.audit_logger import audit_logger
from ...middleware.security import security_manager
from ...services.cache_service import cache_stats, purge_fallback_cache
from ...services.shop_service import ShopService, get_shop_service

ADMIN_API_KEY = os.getenv("ADMIN_API_KEY", "")

router = APIRouter()


class ProductIn(BaseModel):
    """Payload for creating a product."""

    name: str = Field(min_length=1, max_length=120)
    category: str
    price_cents: int = Field(ge=0)
    description: str = ""
    tags: List[str] = Field(default_factory=list)


def require_admin(request: Request, x_admin_key: Optional[str] = Header(default=None)) -> str:
    """Check the ``X-Admin-Key`` header and audit the attempt."""
    client_ip = security_manager.get_client_ip(request)
    if not ADMIN_API_KEY or not x_admin_key or not secrets.compare_digest(x_admin_key, ADMIN_API_KEY):
        audit_logger.log_event("admin_auth_failed", client_ip=client_ip, path=request.url.path)
        raise AdminAuthError("Invalid or missing admin API key")
    audit_logger.log_event("admin_access", client_ip=client_ip, path=request.url.path)
    return client_ip


@router.get("/audit/recent")
async def recent_audit_events(
    limit: int = Query(default=20, ge=1, le=500),
    event_type: Optional[str] = Query(default=None),
    _: str = Depends(require_admin),
) -> Dict[str, Any]:
    """Most recent audit events, newest first."""
    events = audit_logger.recent_events(limit, event_type=event_type)
    return {"count": len(events), "events": events}


@router.get("/cache/stats")
async def get_cache_stats(_: str = Depends(require_admin)) -> Dict[str, Any]:
    """Fallback-cache size, Redis health and rate limiter counters."""
    service = get_shop_service()
    return {
        **cache_stats(),
        "catalogue_cache": {"backend": service.cache.backend, **service.cache.stats},
        "blocked_requests": security_manager.blocked_requests,
    }


@router.post("/cache/purge")
async def purge_cache(client_ip: str = Depends(require_admin)) -> Dict[str, int]:
    """Empty the SQLite cache tier (CSRF-protected)."""
    purged = purge_fallback_cache()
    audit_logger.log_event("cache_purged", client_ip=client_ip, details={"purged": purged})
    return {"purged": purged}


@router.post("/products", status_code=201)
async def create_product(
    payload: ProductIn,
    client_ip: str = Depends(require_admin),
    service: ShopService = Depends(get_shop_service),
) -> Dict[str, Any]:
    """Add a product to the catalogue (CSRF-protected)."""
    product = service.add_product(**payload.model_dump())
    audit_logger.log_event("product_created", client_ip=client_ip, details={"product_id": product["id"]})
    return product
