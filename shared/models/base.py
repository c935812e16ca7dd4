"""The base of every model and the field types the models share."""

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints

from shared.webhook_url import check_webhook_url


class Model(BaseModel):
    """Base of every model: schemas are built on first use, so a function only pays for the models
    it actually uses (building them all at import added ~15 ms to every cold start)."""

    model_config = ConfigDict(defer_build=True)


HexColor = Annotated[str, StringConstraints(pattern=r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")]
# Font stacks are placed in CSS: letters, digits, spaces, commas, quotes and hyphens only.
FontFamily = Annotated[str, StringConstraints(max_length=200, pattern=r"^[\w\s,'\"-]+$")]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


def _check_image_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _normalise_origin(value: str) -> str:
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError("must be an origin such as https://www.example.com")
    return f"{parts.scheme}://{parts.netloc}"


ImageUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_check_image_url)]
# Every webhook URL a caller gives us (DESIGN.md "Webhook URL policy"); what the deployment allows
# (https only, no private addresses...) is `Settings.webhook_policy`, checked on save and on call.
WebhookUrl = Annotated[str, AfterValidator(check_webhook_url)]
Origin = Annotated[str, StringConstraints(max_length=300), AfterValidator(_normalise_origin)]
