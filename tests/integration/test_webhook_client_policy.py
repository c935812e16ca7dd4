"""The webhook URL policy is enforced where the client connects: on the addresses the host resolves
to, not only on the URL (DNS rebinding). Nothing here sends a byte to a non-loopback address: the
loop's connect is wrapped so that any attempt to leave loopback is recorded and refused."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from shared.services.relay import RelayError, call_webhook
from shared.webhook_client import (
    WebhookBlockedError,
    WebhookClient,
    WebhookConnectError,
    WebhookHTTPError,
)
from shared.webhook_url import WebhookPolicy, literal_address

SECRET = "s3cr3t-token"


class Guard:
    """Records every connect the client makes; refuses (OSError) any to a non-loopback address."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, str | None]] = []
        self.resolved: dict[str, list[str]] = {}


@pytest.fixture
async def guard(monkeypatch: pytest.MonkeyPatch) -> Guard:
    loop = asyncio.get_running_loop()
    record = Guard()
    real_connect = loop.create_connection
    real_getaddrinfo = loop.getaddrinfo

    async def create_connection(factory: Any, host: str, port: int, **kwargs: Any) -> Any:
        record.connects.append((host, kwargs.get("server_hostname")))
        address = literal_address(host)
        if address is None or not address.is_loopback:
            raise OSError(f"test guard: no traffic to {host}")
        return await real_connect(factory, host, port, **kwargs)

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> Any:
        if host in record.resolved:
            return [
                (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
                for ip in record.resolved[host]
            ]
        return await real_getaddrinfo(host, port, **kwargs)

    monkeypatch.setattr(loop, "create_connection", create_connection)
    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return record


def make_client(policy: WebhookPolicy, ssl_context: ssl.SSLContext | None = None) -> WebhookClient:
    return WebhookClient(
        max_connections=4, max_response_bytes=1000, user_agent="t", policy=policy, ssl_context=ssl_context
    )


async def post(client: WebhookClient, url: str) -> int:
    response = await client.post(url, body=b"{}", headers={}, timeout_seconds=5, pool_key="w")
    return response.status


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port whose backlog takes connections that are never answered."""
    server = socket.create_server(("127.0.0.1", 0))
    yield server.getsockname()[1]
    server.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("url", "reason"),
    [
        pytest.param(
            f"https://169.254.169.254/latest/meta-data/?token={SECRET}", "link-local", id="metadata"
        ),
        pytest.param(f"https://[::ffff:169.254.169.254]/x?{SECRET}", "link-local", id="mapped-metadata"),
        pytest.param(f"https://10.0.0.1/x?k={SECRET}", "private", id="private"),
        pytest.param(f"http://127.0.0.1:9/x?k={SECRET}", "https://", id="insecure"),
        pytest.param(f"http://webhook.test/x?k={SECRET}", "https://", id="insecure-name"),
    ],
)
async def test_urls_the_policy_refuses_are_never_connected(guard: Guard, url: str, reason: str) -> None:
    client = make_client(WebhookPolicy())
    with pytest.raises(WebhookBlockedError, match=reason) as caught:
        await post(client, url)
    assert guard.connects == []
    assert SECRET not in str(caught.value)


@pytest.mark.anyio
async def test_a_name_resolving_to_loopback_is_refused_without_insecure_webhooks(guard: Guard) -> None:
    # "localhost" passes the URL check (https, a name); its addresses do not
    client = make_client(WebhookPolicy(allow_insecure=False))
    with pytest.raises(WebhookBlockedError, match="loopback"):
        await post(client, "https://localhost:9/webhook")
    assert guard.connects == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        pytest.param(["169.254.169.254"], "link-local", id="metadata"),
        pytest.param(["::ffff:169.254.169.254"], "link-local", id="mapped-metadata"),
        pytest.param(["fe80::1"], "link-local", id="link-local-v6"),
        pytest.param(["10.0.0.1", "192.168.1.1"], "private", id="private"),
        pytest.param(["0.0.0.0"], "unspecified", id="unspecified"),
        pytest.param(["224.0.0.1"], "multicast", id="multicast"),
    ],
)
async def test_a_name_rebound_to_forbidden_addresses_is_refused(
    guard: Guard, addresses: list[str], reason: str
) -> None:
    guard.resolved["rebound.test"] = addresses
    client = make_client(WebhookPolicy())
    with pytest.raises(WebhookBlockedError, match=reason) as caught:
        await post(client, f"https://rebound.test/webhook?key={SECRET}")
    assert guard.connects == []
    assert SECRET not in str(caught.value) and "https://rebound.test/webhook" in str(caught.value)


@pytest.mark.anyio
async def test_private_addresses_are_tried_when_allowed(guard: Guard) -> None:
    # The guard refuses the actual connect (no traffic leaves loopback); the client did try it,
    # with the original name for TLS.
    guard.resolved["n8n.internal.test"] = ["10.0.0.1"]
    client = make_client(WebhookPolicy(allow_private=True))
    with pytest.raises(WebhookConnectError, match="test guard"):
        await post(client, "https://n8n.internal.test/webhook")
    assert guard.connects == [("10.0.0.1", "n8n.internal.test")]
    with pytest.raises(WebhookConnectError):
        await post(client, "https://10.0.0.1/webhook")
    assert guard.connects[-1] == ("10.0.0.1", "10.0.0.1")


@pytest.mark.anyio
async def test_only_allowed_addresses_are_connected_and_tls_verifies_the_name(guard: Guard) -> None:
    # webhook.test resolves to a private address first, then loopback (allowed here): the client
    # skips the first and connects to the second, verifying the certificate for webhook.test.
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("webhook.test").configure_cert(server_context)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await reader.readexactly(2)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    guard.resolved["webhook.test"] = ["10.0.0.1", "127.0.0.1"]
    client = make_client(WebhookPolicy(allow_insecure=True), ssl_context=trusting)
    try:
        assert await post(client, f"https://webhook.test:{port}/webhook") == 200
    finally:
        await client.aclose()
        server.close()
    assert guard.connects == [("127.0.0.1", "webhook.test")]


@pytest.mark.anyio
async def test_error_messages_never_carry_credentials_or_queries(guard: Guard, silent_port: int) -> None:
    port = silent_port
    client = make_client(WebhookPolicy(allow_insecure=True))
    urls = [
        f"http://127.0.0.1:1/x?token={SECRET}",  # refused
        f"http://user:{SECRET}@127.0.0.1:1/x",  # credentials
        f"ftp://127.0.0.1/x?{SECRET}",  # not http (paths are shown: n8n paths carry no secrets)
        f"http://127.0.0.1:{port}/x?token={SECRET}",  # never answers: times out
    ]
    for url in urls:
        with pytest.raises(WebhookHTTPError) as caught:
            await client.post(url, body=b"", headers={}, timeout_seconds=0.2, pool_key="w")
        assert SECRET not in str(caught.value), str(caught.value)
    await client.aclose()


@pytest.mark.anyio
async def test_the_relay_reports_a_refused_address_as_blocked_address(guard: Guard) -> None:
    guard.resolved["rebound.test"] = ["169.254.169.254"]
    client = make_client(WebhookPolicy())
    with pytest.raises(RelayError) as caught:
        await call_webhook(
            client,
            f"https://rebound.test/x?k={SECRET}",
            body=b"{}",
            headers={},
            timeout_seconds=5,
            pool_key="w",
        )
    assert caught.value.error_type == "blocked_address"
    assert SECRET not in caught.value.detail and "link-local" in caught.value.detail
