"""Building the app for a test: a settings class on top of TestingConfig, SQLite or PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

from app import create_app
from config import TestingConfig


def make_config(**overrides) -> type[TestingConfig]:
    return type("TestConfig", (TestingConfig,), overrides)


def build_app(tmp_path: Path, database_url: str, **overrides):
    """The app on `database_url`, its uploads and outbox under `tmp_path`, with `overrides` set."""
    config = make_config(
        SQLALCHEMY_DATABASE_URI=database_url,
        UPLOAD_DIR=str(tmp_path / "uploads"),
        OUTBOX_DIR=str(tmp_path / "outbox"),
        **overrides,
    )
    return create_app(config)


def demo_app(tmp_path: Path, demo_database, **overrides):
    """A separate app (with its own settings) on a private copy of the demo database.

    `demo_database` is the session fixture of the same name: (path of the seeded file, passwords).
    """
    path = tmp_path / "demo-copy.sqlite3"
    shutil.copyfile(demo_database[0], path)
    return build_app(tmp_path, f"sqlite:///{path}", **overrides)
