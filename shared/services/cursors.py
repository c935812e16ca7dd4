"""Page cursors over (time, id): opaque to callers, checked when they come back. One codec for the
visitor history and the admin lists."""

from __future__ import annotations

import base64
from datetime import datetime
from uuid import UUID

from shared.errors import UnprocessableError


def encode_cursor(at: datetime, row_id: UUID) -> str:
    """The cursor of the page after the row at (`at`, `row_id`)."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The (time, id) an `encode_cursor` cursor names; 422 `invalid_cursor` for anything else."""
    invalid = UnprocessableError(
        "The cursor is not valid; pass next_cursor back as given.", code="invalid_cursor"
    )
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii") + b"=" * (-len(cursor) % 4)).decode()
        at_text, id_text = raw.split("|")
        at, row_id = datetime.fromisoformat(at_text), UUID(id_text)
    except (ValueError, OverflowError):  # binascii and Unicode errors are ValueErrors too
        raise invalid from None
    if at.tzinfo is None:  # cursors are made from timestamptz values; a naive one was not
        raise invalid
    return at, row_id
