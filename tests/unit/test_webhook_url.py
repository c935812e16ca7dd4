"""The webhook URL policy: the URL rules every deployment applies, and the address rules of one."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from shared.models import WidgetCreate
from shared.webhook_url import BlockedWebhookError, WebhookPolicy, check_webhook_url, redact_url

STRICT = WebhookPolicy()
DEV = WebhookPolicy(allow_insecure=True)
PRIVATE = WebhookPolicy(allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://n8n.example.com/webhook/abc",
        "https://n8n.example.com:8443/webhook/abc?x=1",
        "http://127.0.0.1:5678/webhook/abc",
    ],
)
def test_well_formed_urls_pass(url: str) -> None:
    assert check_webhook_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://n8n.example.com/x", "https://"),
        ("javascript:alert(1)", "https://"),
        ("https:///webhook", "host"),
        ("https://user:pass@n8n.example.com/webhook", "credentials"),
        ("https://user@n8n.example.com/webhook", "credentials"),
        ("https://n8n.example.com:99999/webhook", "valid URL"),
        ("https://n8n.example.com/web hook", "spaces"),
        ("https://n8n.example.com/\r\nX-Injected: 1", "control"),
        ("https://n8n.example.com/" + "a" * 2048, "2048"),
    ],
)
def test_malformed_urls_are_refused_with_a_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_webhook_url(url)


def test_every_model_carrying_a_webhook_url_uses_the_rules() -> None:
    with pytest.raises(ValidationError, match="credentials"):
        WidgetCreate.model_validate(
            {
                "client_id": "00000000-0000-0000-0000-000000000001",
                "name": "w",
                "webhook_url": "https://a:b@x.io/",
            }
        )


@pytest.mark.parametrize(
    "url",
    [
        "http://n8n.example.com/webhook",  # plain http anywhere
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://[fe80::1]/x",
        "https://[::ffff:169.254.169.254]/x",  # IPv4-mapped metadata
        "https://[2002:a9fe:a9fe::1]/x",  # 6to4 carrying 169.254.169.254
        "https://[64:ff9b::a9fe:a9fe]/x",  # NAT64 carrying 169.254.169.254
        "https://10.0.0.5/x",
        "https://172.16.3.4/x",
        "https://192.168.1.10/x",
        "https://100.64.0.1/x",
        "https://[fd00::1]/x",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://0.0.0.0/x",
        "https://0.1.2.3/x",
        "https://[::]/x",
        "https://224.0.0.1/x",
        "https://240.0.0.1/x",
    ],
)
def test_a_production_policy_refuses_insecure_and_internal_targets(url: str) -> None:
    with pytest.raises(BlockedWebhookError):
        STRICT.check_url(url)


def test_development_allows_plain_http_to_loopback_only() -> None:
    DEV.check_url("http://127.0.0.1:5678/webhook/x")
    DEV.check_url("http://localhost:5678/webhook/x")
    DEV.check_url("http://[::1]:5678/webhook/x")
    with pytest.raises(BlockedWebhookError, match="loopback"):
        DEV.check_url("http://n8n.example.com/webhook")
    with pytest.raises(BlockedWebhookError, match="link-local"):
        DEV.check_url("https://169.254.169.254/")
    with pytest.raises(BlockedWebhookError, match="private"):
        DEV.check_url("https://10.1.2.3/")


def test_private_webhooks_can_be_allowed_but_never_metadata() -> None:
    PRIVATE.check_url("https://10.0.0.5/webhook")
    PRIVATE.check_address(ipaddress.ip_address("fd00::1"))
    with pytest.raises(BlockedWebhookError):
        PRIVATE.check_address(ipaddress.ip_address("169.254.169.254"))
    with pytest.raises(BlockedWebhookError):
        PRIVATE.check_address(ipaddress.ip_address("127.0.0.1"))


def test_public_addresses_pass() -> None:
    STRICT.check_url("https://n8n.example.com/webhook/x")  # names are checked on their addresses
    STRICT.check_address(ipaddress.ip_address("93.184.216.34"))
    STRICT.check_address(ipaddress.ip_address("2606:2800:220:1:248:1893:25c8:1946"))


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cret@n8n.example.com/webhook/x?token=abc#f", "https://n8n.example.com/webhook/x?…"),
        ("https://n8n.example.com:8443/w", "https://n8n.example.com:8443/w"),
        ("https://[::1]:80/w?k=v", "https://[::1]:80/w?…"),
        ("https://n8n.example.com:bad/w", "<invalid URL>"),
    ],
)
def test_redacted_urls_carry_no_credentials_or_query(url: str, shown: str) -> None:
    assert redact_url(url) == shown
