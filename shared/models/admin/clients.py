"""The admin API's clients: what a client looks like there, and what a change may set."""

from typing import Annotated

from pydantic import ConfigDict, StringConstraints, field_validator

from shared.models.base import Email, Model
from shared.models.clients import Client

ClientName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
CompanyName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class ClientDetail(Client):
    """A client with how many widgets it has."""

    widget_count: int


class ClientUpdate(Model):
    """A change to a client: only the fields given change; null clears `contact_email` or
    `company_name` (a client always keeps a name)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: ClientName | None = None
    contact_email: Email | None = None
    company_name: CompanyName | None = None

    @field_validator("name")
    @classmethod
    def _name_stays(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("a client always has a name; it cannot be cleared")
        return value
