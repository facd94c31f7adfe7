"""Run Alembic from code (CLI, tests, the demo), on the configured or a given database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.config import get_settings
from app.db import check_foreign_keys, migration_engine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    engine = migration_engine(database_url or get_settings().database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            check_foreign_keys(connection)
    finally:
        engine.dispose()
