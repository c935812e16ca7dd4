"""The development environment of every local entry point (`make dev`, `scripts/invoke.py`)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from scripts.localdb import DATA_DIR, embedded_database_url

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def prepare_environment(*, base_url: str = DEFAULT_BASE_URL, data_dir: Path | None = None) -> str:
    """Development defaults for every setting not already given, and `DATABASE_URL`: its own value,
    else the embedded Postgres of `data_dir` (`.data/postgres`), started if needed. Returns the
    public base URL.

    Run it before importing `shared`: the logger and metrics read their settings at import."""
    DATA_DIR.mkdir(exist_ok=True)
    key_file = DATA_DIR / "signing_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    defaults = {
        "ENVIRONMENT": "development",
        "ALLOW_INSECURE_WEBHOOKS": "1",
        "DB_POOL_SIZE": "16",
        "PUBLIC_BASE_URL": base_url,
        "SIGNING_KEY": key_file.read_text().strip(),
        "POWERTOOLS_METRICS_NAMESPACE": "ChatWidgetDev",
        "POWERTOOLS_DEV": "true",
        "WEBHOOK_TIMEOUT_SECONDS": "25",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = (
            embedded_database_url(data_dir) if data_dir is not None else embedded_database_url()
        )
    return os.environ["PUBLIC_BASE_URL"]
