"""Domain errors, rendered as JSON by the handler in :mod:`src.api.main`."""
from typing import Any, Dict, Optional


class ShopError(Exception):
    """Base class for errors the API reports to clients."""

    status_code: int = 400
    code: str = "shop_error"

    def __init__(self, message: str, *, details: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> Dict[str, Any]:
        """JSON body sent to the client."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class NotFoundError(ShopError):
    """A requested resource does not exist."""

    status_code = 404
    code = "not_found"


class ProductNotFound(NotFoundError):
    """No product with the requested id."""

    code = "product_not_found"


class CategoryNotFound(NotFoundError):
    """No category with the requested slug."""

    code = "category_not_found"


class InvalidImageError(ShopError):
    """An uploaded image could not be decoded."""

    status_code = 422
    code = "invalid_image"


class AdminAuthError(ShopError):
    """Missing or wrong admin API key."""

    status_code = 401
    code = "admin_auth_failed"
