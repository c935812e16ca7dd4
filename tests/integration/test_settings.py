"""Settings: environment variables, secrets from SSM (moto), placeholders refused in production."""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from shared.errors import ConfigurationError
from shared.settings import Settings, get_settings, read_ssm_parameters

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
    read_ssm_parameters.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()
    read_ssm_parameters.cache_clear()


@dataclass
class FakeSsm:
    """SSM served by moto, with every request the settings' client makes recorded by operation."""

    requests: list[str] = field(default_factory=list)

    def put(self, name: str, value: str, kind: str = "SecureString") -> str:
        """Store a parameter (not recorded as a request); returns its ARN."""
        client = boto3.session.Session().client("ssm")
        client.put_parameter(Name=name, Value=value, Type=kind, Overwrite=True)
        return str(client.get_parameter(Name=name)["Parameter"]["ARN"])


@pytest.fixture
def ssm(env: pytest.MonkeyPatch) -> Iterator[FakeSsm]:
    with mock_aws():
        fake = FakeSsm()
        # The settings call boto3.client(), i.e. the default session; its clients inherit this hook.
        boto3.setup_default_session()
        assert boto3.DEFAULT_SESSION is not None

        def record(model: Any, **_: Any) -> None:
            fake.requests.append(model.name)

        boto3.DEFAULT_SESSION.events.register("before-call.ssm", record)
        yield fake
    boto3.DEFAULT_SESSION = None


def error_text(error: BaseException) -> str:
    """What a log line or a crash report would show of the error."""
    return "".join(traceback.format_exception(error))


def test_secrets_can_come_from_ssm_in_one_request_read_once(env: pytest.MonkeyPatch, ssm: FakeSsm) -> None:
    # Given the three secrets stored as parameters and only their names configured
    ssm.put("/cw/db", "postgresql://app:s3cr3t-pw@db.example:6543/postgres")
    ssm.put("/cw/key", REAL_KEY)
    # (a String parameter: CloudFront reads the same value at deploy time)
    ssm.put("/cw/origin", "o" * 40, kind="String")
    env.setenv("DATABASE_URL_SSM_PARAMETER", "/cw/db")
    env.setenv("SIGNING_KEY_SSM_PARAMETER", "/cw/key")
    env.setenv("ORIGIN_VERIFY_SECRET_SSM_PARAMETER", "/cw/origin")
    # When settings load
    settings = get_settings()
    # Then the values come from SSM in a single GetParameters request
    assert ssm.requests == ["GetParameters"]
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value().endswith("db.example:6543/postgres")
    assert settings.signing_key_bytes == REAL_KEY.encode()
    assert settings.origin_verify_secret is not None
    assert settings.origin_verify_secret.get_secret_value() == "o" * 40
    assert "s3cr3t" not in repr(settings) and "o" * 40 not in repr(settings)
    # And loading them again in the same process does not ask again
    ssm.put("/cw/key", "z" * 48)
    assert Settings.from_environ().signing_key_bytes == REAL_KEY.encode()
    assert ssm.requests == ["GetParameters"]


def test_a_secret_set_directly_is_not_asked_of_ssm(env: pytest.MonkeyPatch, ssm: FakeSsm) -> None:
    # Given one secret by parameter, named by its ARN, and one set directly with a parameter too
    arn = ssm.put("/cw/key", REAL_KEY)
    env.setenv("SIGNING_KEY_SSM_PARAMETER", arn)
    env.setenv("DATABASE_URL", "postgresql://app:strong-pw@db.example/postgres")
    env.setenv("DATABASE_URL_SSM_PARAMETER", "/cw/not-there")
    # When settings load
    settings = get_settings()
    # Then only the parameter still needed is read, in one request
    assert settings.signing_key_bytes == REAL_KEY.encode()
    assert ssm.requests == ["GetParameters"]


def test_a_missing_ssm_parameter_is_named_and_no_value_shown(env: pytest.MonkeyPatch, ssm: FakeSsm) -> None:
    # Given two parameters configured, of which only one exists
    ssm.put("/cw/db", "postgresql://app:s3cr3t-pw@db.example:6543/postgres")
    env.setenv("DATABASE_URL_SSM_PARAMETER", "/cw/db")
    env.setenv("SIGNING_KEY_SSM_PARAMETER", "/cw/missing-key")
    # When settings load
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    # Then start-up fails naming the missing parameter, not the existing one's value
    assert "/cw/missing-key" in str(raised.value)
    assert "s3cr3t" not in error_text(raised.value)
    assert ssm.requests == ["GetParameters"]


def test_an_unsafe_secret_from_ssm_is_refused_without_showing_it(
    env: pytest.MonkeyPatch, ssm: FakeSsm
) -> None:
    # Given a signing key in SSM that is too short to be a real secret
    ssm.put("/cw/db", "postgresql://app:s3cr3t-pw@db.example:6543/postgres")
    ssm.put("/cw/key", "hunter2-but-short")
    env.setenv("DATABASE_URL_SSM_PARAMETER", "/cw/db")
    env.setenv("SIGNING_KEY_SSM_PARAMETER", "/cw/key")
    # When settings load
    with pytest.raises(ConfigurationError, match="SIGNING_KEY") as raised:
        get_settings()
    # Then the error names the setting, and neither value appears in what would be logged
    text = error_text(raised.value)
    assert "hunter2" not in text and "s3cr3t" not in text


def test_without_ssm_parameters_boto3_is_never_imported(env: pytest.MonkeyPatch) -> None:
    # Given a configuration with every secret set directly
    env.setenv("DATABASE_URL", "postgresql://app:strong-pw@db.example/postgres")
    env.setenv("SIGNING_KEY", REAL_KEY)
    # When a fresh process loads the settings
    code = (
        "import sys; from shared.settings import get_settings; get_settings(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], env=dict(os.environ), capture_output=True, text=True, check=True
    )
    # Then it never paid for boto3
    assert completed.stdout.strip() == "[]"


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
