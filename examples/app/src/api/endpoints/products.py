"""Product endpoints, including image analysis for product photos."""
from typing import Any, Dict, Optional

from fastapi import APIRouter, Depends, Query, Request

from ...exceptions import InvalidImageError
from ...services.image_processing_service import ImageProcessingService
from ...services.shop_service import ShopService, get_shop_service

router = APIRouter()

image_service = ImageProcessingService()


def get_service() -> ShopService:
    """Dependency returning the shared shop service."""
    return get_shop_service()


@router.get("")
async def list_products(
    category: Optional[str] = Query(default=None),
    q: Optional[str] = Query(default=None, max_length=100),
    service: ShopService = Depends(get_service),
) -> Dict[str, Any]:
    """Products, optionally filtered by category and search term."""
    products = service.list_products(category=category, query=q)
    return {"count": len(products), "products": products}


@router.get("/{product_id}")
async def get_product(product_id: int, service: ShopService = Depends(get_service)) -> Dict[str, Any]:
    """One product."""
    return service.get_product(product_id)


@router.post("/{product_id}/image")
async def analyse_product_image(
    product_id: int, request: Request, service: ShopService = Depends(get_service)
) -> Dict[str, Any]:
    """Analyse a product photo sent as the raw request body."""
    service.get_product(product_id)
    data = await request.body()
    if not data:
        raise InvalidImageError("Request body is empty; send the image bytes")
    try:
        analysis = image_service.analyse(data)
    except ValueError as exc:
        raise InvalidImageError(str(exc), details={"bytes": len(data)}) from exc
    return {"product_id": product_id, **analysis}
