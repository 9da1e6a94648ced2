"""Category browsing endpoints."""
from typing import Any, Dict, List

from fastapi import APIRouter, Depends

from ...services.shop_service import ShopService, get_shop_service

router = APIRouter()


def get_service() -> ShopService:
    """Dependency returning the shared shop service."""
    return get_shop_service()


@router.get("")
async def list_categories(service: ShopService = Depends(get_service)) -> Dict[str, List[Dict[str, Any]]]:
    """All categories with product counts."""
    return {"categories": service.list_categories()}


@router.get("/{slug}")
async def get_category(slug: str, service: ShopService = Depends(get_service)) -> Dict[str, Any]:
    """One category."""
    return service.get_category(slug)


@router.get("/{slug}/products")
async def list_category_products(slug: str, service: ShopService = Depends(get_service)) -> Dict[str, Any]:
    """Products in one category."""
    products = service.list_products(category=slug)
    return {"category": slug, "count": len(products), "products": products}
