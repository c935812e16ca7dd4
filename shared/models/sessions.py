"""Visitor sessions: what POST sessions accepts and answers."""

from datetime import datetime
from typing import Annotated

from pydantic import ConfigDict, Field

from shared.models.base import Model


class SessionRequest(Model):
    """Empty for a new session; the stored id and token to renew one."""

    model_config = ConfigDict(extra="forbid", defer_build=False)  # FastAPI wraps body models itself

    session_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = None
    token: Annotated[str, Field(max_length=1000)] | None = None


class SessionResponse(Model):
    session_id: str
    token: str
    expires_at: datetime
