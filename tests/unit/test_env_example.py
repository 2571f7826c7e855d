"""`.env.example` documents every environment variable that market/config.py reads."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_config_variable_is_documented():
    source = (ROOT / "market/config.py").read_text(encoding="utf-8")
    used = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', source))
    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert used and not used - documented, f"undocumented: {sorted(used - documented)}"


def _settings() -> dict[str, str]:
    """The uncommented assignments of `.env.example`: what a copied `.env` sets."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", text, re.M))


def test_defaults_are_production_safe():
    settings = _settings()
    assert settings["MARKET_ENV"] == "production"
    assert settings["SECRET_KEY"] == ""  # a key must be made, never copied from the example
    assert settings["SESSION_COOKIE_SECURE"] == "1"
    assert settings["SITE_URL"].startswith("https://")
    assert settings.get("RATE_LIMITS_ENABLED", "1") == "1"


def test_a_copied_example_does_not_start_without_a_real_key(monkeypatch):
    from market import create_app

    for name, value in _settings().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SECRET_KEY")  # SECRET_KEY= in a .env file leaves the variable empty or unset
    import importlib

    import market.config

    importlib.reload(market.config)
    try:
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    finally:
        monkeypatch.undo()
        importlib.reload(market.config)
