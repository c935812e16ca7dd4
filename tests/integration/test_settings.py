"""Settings: environment variables, secrets from SSM (moto), placeholders refused in production."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from shared.errors import ConfigurationError
from shared.settings import Settings, get_settings, read_ssm_parameter

REAL_KEY = "k" * 48


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in (
        "DATABASE_URL",
        "SIGNING_KEY",
        "ENVIRONMENT",
        "DATABASE_URL_SSM_PARAMETER",
        "SIGNING_KEY_SSM_PARAMETER",
        "ORIGIN_VERIFY_SECRET",
        "ORIGIN_VERIFY_SECRET_SSM_PARAMETER",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    get_settings.cache_clear()
    read_ssm_parameter.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    read_ssm_parameter.cache_clear()


def test_secrets_can_come_from_ssm_and_are_read_once(env: pytest.MonkeyPatch) -> None:
    with mock_aws():
        # Given the secrets stored as SecureString parameters and only their names configured
        ssm = boto3.client("ssm")
        ssm.put_parameter(
            Name="/cw/db", Value="postgresql://app:s3cr3t-pw@db.example:6543/postgres", Type="SecureString"
        )
        ssm.put_parameter(Name="/cw/key", Value=REAL_KEY, Type="SecureString")
        # (a String parameter: CloudFront reads the same value at deploy time)
        ssm.put_parameter(Name="/cw/origin", Value="o" * 40, Type="String")
        env.setenv("DATABASE_URL_SSM_PARAMETER", "/cw/db")
        env.setenv("SIGNING_KEY_SSM_PARAMETER", "/cw/key")
        env.setenv("ORIGIN_VERIFY_SECRET_SSM_PARAMETER", "/cw/origin")
        # When settings load
        settings = get_settings()
        # Then the values come from SSM, and a second load does not ask again
        ssm.put_parameter(Name="/cw/key", Value="z" * 48, Type="SecureString", Overwrite=True)
        assert settings.database_url is not None
        assert settings.database_url.get_secret_value().endswith("db.example:6543/postgres")
        assert settings.signing_key_bytes == REAL_KEY.encode()
        assert Settings.from_environ().signing_key_bytes == REAL_KEY.encode()
        assert settings.origin_verify_secret is not None
        assert settings.origin_verify_secret.get_secret_value() == "o" * 40
        assert "s3cr3t" not in repr(settings) and "o" * 40 not in repr(settings)


@pytest.mark.parametrize(
    ("database_url", "signing_key", "problem"),
    [
        ("postgresql://u:strong-pw@db/x", "change-me", "SIGNING_KEY"),
        ("postgresql://u:strong-pw@db/x", "short", "SIGNING_KEY"),
        ("postgresql://u:strong-pw@db/x", None, "SIGNING_KEY"),
        ("postgresql://u:postgres@db/x", REAL_KEY, "placeholder password"),
        (None, REAL_KEY, "DATABASE_URL"),
        ("postgresql://u:strong-pw@db/x", REAL_KEY, "ORIGIN_VERIFY_SECRET"),
    ],
)
def test_production_refuses_placeholders(
    env: pytest.MonkeyPatch, database_url: str | None, signing_key: str | None, problem: str
) -> None:
    if database_url:
        env.setenv("DATABASE_URL", database_url)
    if signing_key:
        env.setenv("SIGNING_KEY", signing_key)
    if problem == "ORIGIN_VERIFY_SECRET":
        env.setenv("ORIGIN_VERIFY_SECRET", "changeme")
    with pytest.raises(ConfigurationError, match=problem):
        get_settings()


def test_development_accepts_placeholders(env: pytest.MonkeyPatch) -> None:
    env.setenv("ENVIRONMENT", "development")
    env.setenv("DATABASE_URL", "postgresql://postgres:postgres@localhost/dev")
    settings = get_settings()
    assert settings.is_development and settings.signing_key_bytes


def test_bad_values_are_named(env: pytest.MonkeyPatch) -> None:
    env.setenv("ENVIRONMENT", "development")
    env.setenv("DATABASE_URL", "postgresql://localhost/dev")
    env.setenv("WEBHOOK_TIMEOUT_SECONDS", "99")
    with pytest.raises(ConfigurationError, match="webhook_timeout_seconds"):
        get_settings()
