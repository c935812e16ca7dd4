"""Fixtures for every test: a real, migrated PostgreSQL (embedded, or the server $DATABASE_URL names).

Each pytest-xdist worker gets its own database, migrated once; every test that asks for `db_url`
starts from empty tables.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scripts.localdb import DATA_DIR, create_database, drop_database, embedded_database_url
from scripts.migrate import migrate
from shared.db import Database
from shared.observability import logger
from shared.settings import Settings
from tests.n8n import FakeN8n

TEST_SERVER_DIR = DATA_DIR / "test-postgres"
DATA_TABLES = (
    "clients",
    "widgets",
    "chat_logs",
    "analytics",
    "analytics_rollup_days",
    "analytics_lists",
    "analytics_list_blocks",
    "analytics_list_block_spans",
    "analytics_list_block_stale",
    "webhook_errors",
    "users",
    "rate_limits",
)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A URL of the server's maintenance database, from which test databases are created."""
    return os.environ.get("DATABASE_URL") or embedded_database_url(TEST_SERVER_DIR)


@pytest.fixture(scope="session")
def worker_database_url(postgres_admin_url: str, worker_id: str) -> Iterator[str]:
    """This worker's migrated database."""
    name = f"cwp_test_{worker_id}_{os.getpid()}"  # concurrent runs on one server must not collide
    url = create_database(postgres_admin_url, name)
    migrate(url)
    yield url
    drop_database(postgres_admin_url, name)


@pytest.fixture
def db_url(worker_database_url: str) -> str:
    """The migrated test database, emptied of data before the test."""
    with psycopg.connect(worker_database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} CASCADE")
    return worker_database_url


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.close()


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Development settings for a test app (no caching unless a test asks for it)."""
    values: dict[str, object] = {
        "environment": "development",
        "database_url": database_url,
        "signing_key": "test-signing-key-" + "x" * 32,
        "widget_cache_seconds": 0,
        "public_base_url": "http://platform.test",
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture
def fake_n8n() -> Iterator[FakeN8n]:
    """A local server answering as an n8n webhook; tests set its answer with `reply(...)`."""
    server = FakeN8n()
    server.start()
    yield server
    server.stop()


class LogCapture(logging.Handler):
    """Every line the platform's logger writes, as the JSON objects it would print."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.setFormatter(logger.registered_formatter)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))

    def named(self, message: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("message") == message]


@pytest.fixture
def platform_logs() -> Iterator[LogCapture]:
    """The platform's log lines written during the test."""
    capture = LogCapture()
    logger._logger.addHandler(capture)
    yield capture
    logger._logger.removeHandler(capture)
