"""ShopService against the real (SQLite-fallback) cache."""
import pytest

from src.exceptions import CategoryNotFound, ProductNotFound, ShopError
from src.services.cache_service import CacheService
from src.services.shop_service import ShopService, get_shop_service


@pytest.fixture
def shop(request: pytest.FixtureRequest) -> ShopService:
    cache = CacheService(namespace=f"shop-test-{request.node.name}")
    yield ShopService(cache=cache)
    cache.clear()


def test_shared_instance() -> None:
    assert get_shop_service() is get_shop_service()
    assert get_shop_service().cache.namespace == "catalogue"


def test_categories(shop: ShopService) -> None:
    assert [c["slug"] for c in shop.list_categories()] == ["mugs", "posters", "stickers"]
    assert shop.get_category("mugs")["product_count"] == 2
    with pytest.raises(CategoryNotFound) as info:
        shop.get_category("boats")
    assert info.value.status_code == 404
    assert info.value.to_dict()["error"]["details"] == {"slug": "boats"}


def test_product_lookup_is_cached(shop: ShopService) -> None:
    product = shop.get_product(3)
    assert product["name"] == "Mountain Poster"
    assert shop.cache.get("product:3") == product
    hits = shop.cache.stats["hits"]
    assert shop.get_product(3) == product
    assert shop.cache.stats["hits"] == hits + 1
    with pytest.raises(ProductNotFound):
        shop.get_product(404)


def test_listing_and_search(shop: ShopService) -> None:
    assert [p["id"] for p in shop.list_products()] == [1, 2, 3, 4, 5]
    assert [p["id"] for p in shop.list_products(category="mugs")] == [1, 2]
    assert [p["id"] for p in shop.list_products(query="BLUE")] == [2]  # matches tags too
    assert shop.list_products(category="stickers", query="mug") == []
    assert shop.cache.get("products:mugs:") == shop.list_products(category="mugs")
    with pytest.raises(CategoryNotFound):
        shop.list_products(category="boats")


def test_add_product_invalidates_cache(shop: ShopService) -> None:
    assert len(shop.list_products(category="posters")) == 2
    created = shop.add_product("Ocean Poster", "posters", 2000, tags=["sea"])
    assert created["id"] == 6
    assert [p["id"] for p in shop.list_products(category="posters")] == [3, 4, 6]
    assert shop.list_products(query="sea")[0]["name"] == "Ocean Poster"
    with pytest.raises(ShopError):
        shop.add_product("Ghost", "boats", 1)
