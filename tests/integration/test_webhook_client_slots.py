"""Fairness: calls in flight are capped per origin and in all, waiting for a slot is bounded on its
own, and a call's timeout counts only once it holds a slot."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest

from shared.services.relay import RelayError, call_webhook
from shared.webhook_client import WebhookBusyError, WebhookClient, WebhookTimeoutError
from shared.webhook_url import WebhookPolicy
from tests.loopback import LoopbackServer, read_request

LOCAL = WebhookPolicy(allow_insecure=True)
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"output":"ok"}'


@dataclass
class SlowServer(LoopbackServer):
    """Answers each request after `delay` seconds (None: never); counts connections open at once."""

    delay: float | None = 0.0
    port: int = 0
    open_now: int = 0
    most_open: int = 0
    requests: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                await read_request(reader)
                self.requests += 1
                if self.delay is None:
                    await asyncio.Event().wait()
                else:
                    await asyncio.sleep(self.delay)
                writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.open_now -= 1
            writer.close()


async def post(
    client: WebhookClient, url: str, *, seconds: float = 10, key: str = "w", **kwargs: float
) -> int:
    response = await client.post(url, body=b"{}", headers={}, timeout_seconds=seconds, pool_key=key, **kwargs)
    return response.status


async def wait_for(condition: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met"
        await asyncio.sleep(0.005)


@pytest.fixture(params=["asyncio", pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop")])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Every test on the standard loop and on uvloop (the dev runner's loop)."""
    return request.param


@pytest.mark.anyio
async def test_a_hung_webhook_cannot_delay_calls_to_another_origin() -> None:
    client = WebhookClient(
        max_connections=10,
        max_connections_per_origin=3,
        max_response_bytes=1000,
        user_agent="t",
        policy=LOCAL,
    )
    async with SlowServer(delay=None) as hung, SlowServer() as healthy:
        # Many widgets' calls to the hung origin: three hold slots, the rest wait for one of those
        stuck = [asyncio.create_task(post(client, hung.url, key=f"w{i}")) for i in range(40)]
        await wait_for(lambda: hung.requests == 3)
        started = time.monotonic()
        assert await post(client, healthy.url) == 200
        assert time.monotonic() - started < 1.0
        assert hung.most_open == 3
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
    await client.aclose()


@pytest.mark.anyio
async def test_waiting_for_a_slot_is_bounded_on_its_own() -> None:
    client = WebhookClient(
        max_connections=10,
        max_connections_per_origin=2,
        max_response_bytes=1000,
        user_agent="t",
        policy=LOCAL,
        slot_wait_seconds=0.2,
    )
    async with SlowServer(delay=None) as hung:
        holding = [asyncio.create_task(post(client, hung.url, key=f"w{i}")) for i in range(2)]
        await wait_for(lambda: hung.requests == 2)
        started = time.monotonic()
        with pytest.raises(WebhookBusyError, match=r"no slot within 0\.2 s"):
            await post(client, hung.url, seconds=10)
        assert 0.15 < time.monotonic() - started < 2
        # post's own bound overrides the client's; the relay reports it as overloaded
        with pytest.raises(WebhookBusyError, match=r"no slot within 0\.05 s"):
            await post(client, hung.url, slot_wait_seconds=0.05)
        with pytest.raises(RelayError) as caught:
            await call_webhook(client, hung.url, body=b"{}", headers={}, timeout_seconds=10, pool_key="w")
        assert caught.value.error_type == "overloaded"
        for task in holding:
            task.cancel()
        await asyncio.gather(*holding, return_exceptions=True)
    await client.aclose()


@pytest.mark.anyio
async def test_the_cap_over_all_origins_holds_too() -> None:
    client = WebhookClient(
        max_connections=2, max_response_bytes=1000, user_agent="t", policy=LOCAL, slot_wait_seconds=0.1
    )
    async with SlowServer(delay=None) as one, SlowServer(delay=None) as two, SlowServer() as three:
        holding = [asyncio.create_task(post(client, s.url)) for s in (one, two)]
        await wait_for(lambda: one.requests == 1 and two.requests == 1)
        with pytest.raises(WebhookBusyError):
            await post(client, three.url)
        for task in holding:
            task.cancel()
        await asyncio.gather(*holding, return_exceptions=True)
        # The slots came back when the calls ended
        assert await post(client, three.url) == 200
    await client.aclose()


@pytest.mark.anyio
async def test_the_timeout_counts_once_the_call_holds_a_slot() -> None:
    client = WebhookClient(
        max_connections=10,
        max_connections_per_origin=1,
        max_response_bytes=1000,
        user_agent="t",
        policy=LOCAL,
    )
    async with SlowServer(delay=1.0) as slow:
        # The second call waits ~1 s for the slot, then gets its reply ~1 s later: 2 s in all, more
        # than its 1.6 s timeout, which only counts from the slot (margins wide for a loaded machine).
        started = time.monotonic()
        first = asyncio.create_task(post(client, slow.url, seconds=10))
        await wait_for(lambda: slow.requests == 1)
        assert await post(client, slow.url, seconds=1.6) == 200
        assert time.monotonic() - started > 1.7
        assert await first == 200
        # A reply slower than the timeout, with the slot free at once, times out
        with pytest.raises(WebhookTimeoutError, match=r"within 0\.1 s") as caught:
            await post(client, slow.url, seconds=0.1)
        assert isinstance(caught.value, TimeoutError)
        with pytest.raises(RelayError) as relayed:
            await call_webhook(client, slow.url, body=b"{}", headers={}, timeout_seconds=0.1, pool_key="w")
        assert relayed.value.error_type == "timeout" and relayed.value.detail == "no reply within 0.1 s"
    await client.aclose()


@pytest.mark.anyio
async def test_cancelled_and_failed_calls_give_their_slots_back() -> None:
    client = WebhookClient(
        max_connections=2,
        max_connections_per_origin=1,
        max_response_bytes=1000,
        user_agent="t",
        policy=LOCAL,
        slot_wait_seconds=0.5,
    )
    async with SlowServer(delay=None) as hung, SlowServer() as healthy:
        for _ in range(5):
            with pytest.raises(WebhookTimeoutError):
                await post(client, hung.url, seconds=0.02)
            task = asyncio.create_task(post(client, hung.url))
            await asyncio.sleep(0.01)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        assert await post(client, healthy.url) == 200
        with pytest.raises(WebhookTimeoutError):
            await post(client, hung.url, seconds=0.02)
    await client.aclose()
