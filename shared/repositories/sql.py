"""Small helpers the repositories share for building SQL parameters."""

from __future__ import annotations


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE/ILIKE pattern (backslash is Postgres's default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
