"""Application configuration, read from environment variables.

Reading the environment is cheap, so this module is safe to import anywhere.
"""
import os
from typing import Any, Dict, List, Optional

DEFAULT_CORS_ORIGINS = "https://shop.example.com,https://admin.shop.example.com"


def parse_csv(value: Optional[str]) -> List[str]:
    """Split a comma separated setting into a list of trimmed, non-empty items."""
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


class Config:
    """Runtime settings for the shop service; every value comes from ``os.environ``."""

    def __init__(self) -> None:
        self.app_name = os.getenv("APP_NAME", "Example Shop API")
        self.version = os.getenv("APP_VERSION", "1.4.0")
        self.environment = os.getenv("ENVIRONMENT", "development")
        self.production_domain = os.getenv("PRODUCTION_DOMAIN", "shop.example.com")
        self.cors_origins = parse_csv(os.getenv("CORS_ORIGINS", DEFAULT_CORS_ORIGINS))
        self.rate_limit_per_minute = int(os.getenv("RATE_LIMIT_PER_MINUTE", "120"))

    @classmethod
    def from_env(cls) -> "Config":
        """Build a configuration from the current environment."""
        return cls()

    @property
    def is_production(self) -> bool:
        """True when running with ``ENVIRONMENT=production``."""
        return self.environment.lower() == "production"

    def as_dict(self) -> Dict[str, Any]:
        """Public (non-secret) view of the settings, e.g. for diagnostics."""
        return dict(vars(self))
