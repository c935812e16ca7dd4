"""Clients: the businesses an operator runs widgets for."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import ConfigDict, StringConstraints

from shared.models.base import Email, Model


class Client(Model):
    id: UUID
    name: str
    contact_email: str | None
    company_name: str | None
    created_at: datetime
    updated_at: datetime


class ClientCreate(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    contact_email: Email | None = None
    company_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
