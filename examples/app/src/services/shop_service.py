"""In-memory product catalogue with read-through caching."""
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from ..exceptions import CategoryNotFound, ProductNotFound
from .cache_service import CacheService

logger = logging.getLogger(__name__)


@dataclass
class Category:
    """A product category, addressed by slug."""

    slug: str
    name: str
    description: str = ""


@dataclass
class Product:
    """A product; prices are integer cents."""

    id: int
    name: str
    category: str
    price_cents: int
    description: str = ""
    tags: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


SEED_CATEGORIES = [
    Category("mugs", "Mugs", "Ceramic and enamel mugs"),
    Category("posters", "Posters", "Art prints and posters"),
    Category("stickers", "Stickers", "Vinyl stickers"),
]

SEED_PRODUCTS = [
    Product(1, "Classic Mug", "mugs", 1200, "White ceramic, 330 ml", ["ceramic", "white"]),
    Product(2, "Enamel Camp Mug", "mugs", 1500, "Blue enamel, 400 ml", ["enamel", "blue"]),
    Product(3, "Mountain Poster", "posters", 2500, "A2 print of the Alps", ["landscape"]),
    Product(4, "City Map Poster", "posters", 2200, "Minimalist city map", ["map", "minimal"]),
    Product(5, "Laptop Sticker Pack", "stickers", 600, "Ten glossy stickers", ["pack", "glossy"]),
]


class ShopService:
    """Catalogue queries; listings and product lookups go through the cache."""

    def __init__(self, cache: Optional[CacheService] = None) -> None:
        self.cache = cache or CacheService(namespace="catalogue", ttl_seconds=60)
        self.categories: Dict[str, Category] = {c.slug: Category(**asdict(c)) for c in SEED_CATEGORIES}
        self.products: Dict[int, Product] = {p.id: Product(**asdict(p)) for p in SEED_PRODUCTS}

    def list_categories(self) -> List[Dict[str, Any]]:
        """All categories with their product counts."""
        counts: Dict[str, int] = {}
        for product in self.products.values():
            counts[product.category] = counts.get(product.category, 0) + 1
        return [
            {**asdict(category), "product_count": counts.get(slug, 0)}
            for slug, category in sorted(self.categories.items())
        ]

    def get_category(self, slug: str) -> Dict[str, Any]:
        """One category; raises :class:`CategoryNotFound`."""
        for category in self.list_categories():
            if category["slug"] == slug:
                return category
        raise CategoryNotFound(f"Category '{slug}' does not exist", details={"slug": slug})

    def list_products(self, category: Optional[str] = None, query: Optional[str] = None) -> List[Dict[str, Any]]:
        """Products, optionally filtered by category and a case-insensitive search term."""
        if category is not None:
            self.get_category(category)
        cache_key = f"products:{category or '*'}:{(query or '').lower()}"
        cached = self.cache.get(cache_key)
        if cached is not None:
            return cached
        needle = (query or "").lower()
        results = [
            product.to_dict()
            for product in sorted(self.products.values(), key=lambda p: p.id)
            if (category is None or product.category == category)
            and (not needle or needle in product.name.lower() or needle in " ".join(product.tags).lower())
        ]
        self.cache.set(cache_key, results)
        return results

    def get_product(self, product_id: int) -> Dict[str, Any]:
        """One product; raises :class:`ProductNotFound`."""
        cache_key = f"product:{product_id}"
        cached = self.cache.get(cache_key)
        if cached is not None:
            return cached
        product = self.products.get(product_id)
        if product is None:
            raise ProductNotFound(f"Product {product_id} does not exist", details={"product_id": product_id})
        data = product.to_dict()
        self.cache.set(cache_key, data)
        return data

    def add_product(
        self,
        name: str,
        category: str,
        price_cents: int,
        description: str = "",
        tags: Optional[List[str]] = None,
    ) -> Dict[str, Any]:
        """Create a product and invalidate cached listings."""
        self.get_category(category)
        product = Product(max(self.products, default=0) + 1, name, category, price_cents, description, list(tags or []))
        self.products[product.id] = product
        self.cache.clear()
        logger.info("added product %s (%s)", product.id, product.name)
        return product.to_dict()


_shop_service: Optional[ShopService] = None


def get_shop_service() -> ShopService:
    """Process-wide :class:`ShopService`."""
    global _shop_service
    if _shop_service is None:
        _shop_service = ShopService()
    return _shop_service
