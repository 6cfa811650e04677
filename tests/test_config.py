"""Configuration: safe defaults, development secret key, environment selection."""

import pytest

import config


def test_development_secret_key_is_created_once_and_reused(tmp_path):
    first = config.development_secret_key(tmp_path)
    assert len(first) == 64
    assert config.development_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_environment_selects_the_config_class(monkeypatch):
    monkeypatch.setenv("VENTANILLA_ENV", "production")
    assert config.config_from_env() is config.ProductionConfig
    monkeypatch.delenv("VENTANILLA_ENV")
    assert config.config_from_env() is config.DevelopmentConfig


def test_an_unknown_environment_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("VENTANILLA_ENV", "prod")
    with pytest.raises(RuntimeError, match="not one of development, testing, production"):
        config.config_from_env()


def test_defaults_are_spanish_and_puerto_rico():
    assert config.Config.BABEL_DEFAULT_LOCALE == "es"
    assert config.Config.DEFAULT_TIMEZONE == "America/Puerto_Rico"
    assert config.ProductionConfig.SOCKETIO_ASYNC_MODE in ("gevent", "threading")
