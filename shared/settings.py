"""Settings: one pydantic object read from environment variables, secrets optionally from SSM.

A plain pydantic model fed from `os.environ` (each field from the variable of its name in capitals)
rather than pydantic-settings, which would add ~15 ms to every cold start for nothing we use.
"""

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from shared.errors import ConfigurationError
from shared.webhook_url import WebhookPolicy

# Values that mean "nobody set a real secret"; refused outside development.
PLACEHOLDER_SECRETS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "changethis",
        "secret",
        "password",
        "postgres",
        "dev",
        "development",
        "test",
        "example",
        "your-secret",
        "your-password",
        "dev-only-signing-key-change-me",
    }
)
DEV_SIGNING_KEY = "dev-only-signing-key-change-me"
MIN_SIGNING_KEY_LENGTH = 32


class Settings(BaseModel):
    """Every configuration variable of the platform (README "Configuration" lists them)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    environment: Literal["development", "production"] = "production"
    database_url: SecretStr | None = None
    database_url_ssm_parameter: str | None = None
    signing_key: SecretStr | None = None
    signing_key_ssm_parameter: str | None = None
    origin_verify_secret: SecretStr | None = None
    origin_verify_secret_ssm_parameter: str | None = None
    db_statement_timeout_ms: int = Field(5000, ge=0, le=600_000)
    db_pool_size: int = Field(1, ge=1, le=64)
    # Server-side prepared statements for the relay's hot statements: only on a direct connection
    # (the dev runner's), never through a pooler in transaction mode (shared/db.py).
    db_prepared_statements: bool = False
    widget_cache_seconds: float = Field(30.0, ge=0, le=300)
    webhook_timeout_seconds: float = Field(25.0, gt=0, le=28)
    webhook_max_connections: int = Field(100, ge=1, le=1000)
    webhook_max_connections_per_origin: int = Field(20, ge=1, le=1000)
    # None: allowed in development only (plain http:// to loopback, for local n8n and the tests).
    allow_insecure_webhooks: bool | None = None
    allow_private_webhooks: bool = False
    db_operation_timeout_seconds: float = Field(3.0, gt=0, le=30)
    public_base_url: str = "http://127.0.0.1:8000"
    client_ip_header: str = ""
    # Webhook health alerts (DESIGN.md "Alerts"): each channel is used when configured.
    alert_email_from: str | None = None
    alert_email_to: str | None = None  # comma-separated recipients
    alert_sns_topic_arn: str | None = None
    alert_slack_webhook_url: SecretStr | None = None
    alert_after_failures: int = Field(2, ge=1, le=100)  # failed hourly checks in a row
    alert_relay_failures: int = Field(3, ge=1, le=1000)  # failed visitor messages in a row
    alert_timeout_seconds: float = Field(5.0, gt=0, le=30)  # per channel
    webhook_check_concurrency: int = Field(200, ge=1, le=1000)
    webhook_probe_timeout_seconds: float = Field(10.0, gt=0, le=28)
    webhook_error_retention_days: int = Field(90, ge=1, le=3650)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        """Settings from environment variables (`DATABASE_URL` fills `database_url`, and so on)."""
        return cls.model_validate(
            {name: environ[name.upper()] for name in cls.model_fields if environ.get(name.upper(), "") != ""}
        )

    @model_validator(mode="before")
    @classmethod
    def _resolve_ssm(cls, data: Any) -> Any:
        """Fill the secrets given only by SSM parameter name, all in one request (once per process)."""
        if not isinstance(data, dict):
            return data
        wanted = {
            field: str(data[f"{field}_ssm_parameter"])
            for field in ("database_url", "signing_key", "origin_verify_secret")
            if data.get(f"{field}_ssm_parameter") and not data.get(field)
        }
        if not wanted:
            return data
        names = tuple(sorted(set(wanted.values())))
        values = dict(zip(names, read_ssm_parameters(names), strict=True))
        return {**data, **{field: values[name] for field, name in wanted.items()}}

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> "Settings":
        if self.database_url is None:
            raise ValueError("DATABASE_URL (or DATABASE_URL_SSM_PARAMETER) must be set")
        if self.environment == "development":
            return self
        key = self.signing_key.get_secret_value() if self.signing_key else ""
        if key.lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SIGNING_KEY_LENGTH:
            raise ValueError(
                f"SIGNING_KEY must be a real secret of at least {MIN_SIGNING_KEY_LENGTH} characters "
                "outside development (set SIGNING_KEY or SIGNING_KEY_SSM_PARAMETER)"
            )
        verify = self.origin_verify_secret.get_secret_value() if self.origin_verify_secret else None
        if verify is not None and (
            verify.lower() in PLACEHOLDER_SECRETS or len(verify) < MIN_SIGNING_KEY_LENGTH
        ):
            raise ValueError(
                f"ORIGIN_VERIFY_SECRET must be a real secret of at least {MIN_SIGNING_KEY_LENGTH} characters"
            )
        password = urlsplit(self.database_url.get_secret_value()).password
        if password is not None and password.lower() in PLACEHOLDER_SECRETS:
            raise ValueError("DATABASE_URL uses a placeholder password outside development")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def webhook_policy(self) -> WebhookPolicy:
        """What webhooks may reach here (DESIGN.md "Webhook URL policy")."""
        insecure = self.allow_insecure_webhooks
        return WebhookPolicy(
            allow_insecure=self.is_development if insecure is None else insecure,
            allow_private=self.allow_private_webhooks,
        )

    @property
    def signing_key_bytes(self) -> bytes:
        """The server key for session tokens and user JWTs."""
        key = self.signing_key.get_secret_value() if self.signing_key else DEV_SIGNING_KEY
        return key.encode()

    @property
    def public_origin(self) -> str:
        """scheme://host[:port] of the platform itself (its demo pages are always an allowed origin)."""
        parts = urlsplit(self.public_base_url)
        return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=4)
def read_ssm_parameters(names: tuple[str, ...]) -> tuple[str, ...]:
    """The values of SSM (SecureString) parameters, in the order of `names`, read with one
    GetParameters call once per process.

    boto3 is imported only here, so only a process with a parameter configured pays for it. A name
    SSM does not return fails start-up with a ConfigurationError naming it (never a value).
    """
    import boto3

    # One request for all: each SSM round trip is paid on every cold start. GetParameters takes
    # at most 10 names; Settings has three.
    response = boto3.client("ssm").get_parameters(Names=list(names), WithDecryption=True)
    # A name may be given as an ARN, and with a :version or :label selector (echoed in `Selector`).
    returned: dict[str, str] = {}
    for parameter in response.get("Parameters", []):
        selector = parameter.get("Selector", "")
        for key in filter(None, (parameter["Name"], parameter.get("ARN"))):
            returned[key] = returned[key + selector] = str(parameter["Value"])
    missing = sorted(
        {*response.get("InvalidParameters", []), *(name for name in names if name not in returned)}
    )
    if missing:
        raise ConfigurationError("invalid configuration: SSM parameter(s) not found: " + ", ".join(missing))
    return tuple(returned[name] for name in names)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once; a bad configuration fails at start-up with a clear message."""
    try:
        return Settings.from_environ()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(f"invalid configuration: {problems}") from None
