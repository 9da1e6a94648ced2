"""Configuration parsing."""
import pytest

from src.utils.config import DEFAULT_CORS_ORIGINS, Config, parse_csv


def test_parse_csv() -> None:
    assert parse_csv(" a, b ,,c ") == ["a", "b", "c"]
    assert parse_csv("") == []
    assert parse_csv(None) == []


def test_config_from_test_environment() -> None:
    config = Config.from_env()
    assert config.environment == "test"
    assert config.rate_limit_per_minute == 100000
    assert config.production_domain == "shop.example.com"
    assert not config.is_production
    assert config.as_dict()["cors_origins"] == config.cors_origins


def test_config_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("APP_NAME", "APP_VERSION", "ENVIRONMENT", "PRODUCTION_DOMAIN", "CORS_ORIGINS", "RATE_LIMIT_PER_MINUTE"):
        monkeypatch.delenv(name, raising=False)
    config = Config()
    assert config.app_name == "Example Shop API"
    assert config.version == "1.4.0"
    assert config.rate_limit_per_minute == 120
    assert config.cors_origins == parse_csv(DEFAULT_CORS_ORIGINS)


def test_config_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "Production")
    monkeypatch.setenv("RATE_LIMIT_PER_MINUTE", "5")
    config = Config.from_env()
    assert config.is_production
    assert config.rate_limit_per_minute == 5
