"""A hostile webhook writes bytes nobody asked for; no call may ever read another call's reply.

Every request carries a unique token; the server echoes it in an `X-Token` header and in the body,
and every misbehaving part it writes (a second response, a 204/304 body, late bytes) carries the
same request's token. So a call that received another call's token read bytes meant for another
call: the leak the client was attacked with (one client's visitor got another client's message).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from shared.webhook_client import Response, WebhookClient, WebhookHTTPError
from shared.webhook_url import WebhookPolicy
from tests.loopback import LoopbackServer, read_request

LOCAL = WebhookPolicy(allow_insecure=True)
LATE = 0.03  # how long after its honest reply the server sends late bytes


def reply(
    token: str, *, status: int = 200, reason: str = "OK", body: bytes | None = None, conn: int = 0
) -> bytes:
    data = json.dumps({"output": token}).encode() if body is None else body
    return (
        f"HTTP/1.1 {status} {reason}\r\nX-Token: {token}\r\nX-Conn: {conn}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


# What the server does for a request, after (or instead of) an honest reply; all carry the token.
MODES = {
    "honest": lambda t, c: [reply(t, conn=c)],
    # A second full response in the same write, or in a separate write just after
    "second-same-write": lambda t, c: [reply(t, conn=c) + reply(t, conn=c)],
    "second-next-write": lambda t, c: [reply(t, conn=c), reply(t, conn=c)],
    # 204 and 304 have no body, whatever Content-Length says; these carry one anyway
    "204-with-body": lambda t, c: [reply(t, status=204, reason="No Content", conn=c)],
    "304-with-body": lambda t, c: [reply(t, status=304, reason="Not Modified", conn=c)],
    "204-body-next-write": lambda t, c: _split(reply(t, status=204, reason="No Content", conn=c)),
    # Chunked, then garbage after the last chunk
    "chunked-then-junk": lambda t, c: [
        f"HTTP/1.1 200 OK\r\nX-Token: {t}\r\nX-Conn: {c}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + _chunk(json.dumps({"output": t}).encode())
        + b"0\r\n\r\n"
        + f"junk {t}".encode()
    ],
}
# Late bytes: sent LATE seconds after the honest reply, while the connection idles in the pool.
LATE_MODES = {
    "late-second-response": lambda t, c: reply(t, conn=c),
    "late-junk": lambda t, c: f"HTTP/1.1 200 OK\r\nX-Token: {t}\r\n".encode(),
    "late-unsolicited-response": lambda t, c: reply(t, status=201, reason="Created", conn=c),
}


def _split(response: bytes) -> list[bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    return [head + b"\r\n\r\n", body]


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@dataclass
class HostileServer(LoopbackServer):
    """Answers each request as its body's "mode" says; records which pool keys each connection served."""

    port: int = 0
    connections: int = 0
    keys_by_connection: dict[int, set[str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook/hostile"

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                _, body = await read_request(reader)
                request = json.loads(body)
                self.keys_by_connection.setdefault(number, set()).add(request["key"])
                token, mode = request["token"], request["mode"]
                if mode in LATE_MODES:
                    writer.write(reply(token, conn=number))
                    await writer.drain()
                    late = asyncio.get_running_loop().call_later(
                        LATE, _write_if_open, writer, LATE_MODES[mode](token, number)
                    )
                    self.tasks.add(asyncio.ensure_future(_cancel_on_close(late, writer)))
                    continue
                for part in MODES[mode](token, number):
                    writer.write(part)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def _write_if_open(writer: asyncio.StreamWriter, data: bytes) -> None:
    """The late bytes, unless the client hung up first (uvloop raises on a closed transport)."""
    if not writer.is_closing():
        writer.write(data)


async def _cancel_on_close(handle: asyncio.TimerHandle, writer: asyncio.StreamWriter) -> None:
    try:
        await writer.wait_closed()
    except ConnectionError:
        pass
    finally:
        handle.cancel()


@pytest.fixture
async def client() -> AsyncIterator[WebhookClient]:
    webhooks = WebhookClient(max_connections=50, max_response_bytes=10_000, user_agent="t", policy=LOCAL)
    yield webhooks
    await webhooks.aclose()


@dataclass
class Call:
    key: str
    token: str
    mode: str
    response: Response | None = None
    error: WebhookHTTPError | None = None


async def call(webhooks: WebhookClient, server: HostileServer, key: str, token: str, mode: str) -> Call:
    result = Call(key, token, mode)
    body = json.dumps({"key": key, "token": token, "mode": mode}).encode()
    try:
        result.response = await webhooks.post(
            server.url,
            body=body,
            headers={"Content-Type": "application/json"},
            timeout_seconds=5,
            pool_key=key,
        )
    except WebhookHTTPError as exc:
        result.error = exc
    return result


def tokens_in(response: Response) -> set[str]:
    found = {response.headers.get("x-token", "")}
    if response.body:
        found.add(json.loads(response.body)["output"])
    return found - {""}


def assert_own_reply(result: Call) -> None:
    assert result.error is None, (result.mode, result.error)
    assert result.response is not None
    assert tokens_in(result.response) == {result.token}, (result.mode, result.response)
    if result.mode.startswith(("204", "304")):
        assert result.response.status in (204, 304) and result.response.body == b""
    else:
        assert result.response.status == 200


@pytest.fixture(params=["asyncio", pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop")])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Every test on the standard loop and on uvloop (the dev runner's loop)."""
    return request.param


@pytest.mark.anyio
@pytest.mark.parametrize("mode", [*MODES, *LATE_MODES])
async def test_after_a_misbehaving_reply_the_next_call_gets_its_own_reply_on_a_new_connection(
    client: WebhookClient, mode: str
) -> None:
    async with HostileServer() as server:
        first = await call(client, server, "widget-a", "token-1", mode)
        if mode in LATE_MODES:
            await asyncio.sleep(LATE * 3)  # the late bytes arrive while the connection idles
        second = await call(client, server, "widget-a", "token-2", "honest")
        third = await call(client, server, "widget-a", "token-3", "honest")
    for result in (first, second, third):
        assert_own_reply(result)
    connection = {r.token: int(r.response.headers["x-conn"]) for r in (first, second, third) if r.response}
    if mode == "honest":
        assert connection["token-1"] == connection["token-2"] == connection["token-3"]
    else:
        # The connection that carried unasked-for bytes was never used again; the clean one was
        assert connection["token-2"] != connection["token-1"]
        assert connection["token-3"] == connection["token-2"]


@pytest.mark.anyio
async def test_many_widgets_calling_one_hostile_host_each_get_exactly_their_own_replies(
    client: WebhookClient,
) -> None:
    # Several widgets call the same host concurrently, each sequentially, mixing every way of
    # misbehaving; after a late-bytes call a widget pauses so the bytes arrive while idle.
    modes = [*MODES, *LATE_MODES]
    rng = random.Random(7)

    async def widget(key: str) -> list[Call]:
        results = []
        for n in range(24):
            mode = rng.choice(modes)
            results.append(await call(client, server, key, f"{key}-{n}", mode))
            if mode in LATE_MODES:
                await asyncio.sleep(LATE * 3)
        return results

    async with HostileServer() as server:
        per_widget = await asyncio.gather(*(widget(f"w{i}") for i in range(6)))
    for results in per_widget:
        for result in results:
            assert_own_reply(result)
    # And no connection ever carried two widgets' calls
    assert all(len(keys) == 1 for keys in server.keys_by_connection.values())


@pytest.mark.anyio
async def test_late_bytes_never_reach_another_widget_even_without_pauses(client: WebhookClient) -> None:
    # Calls without pauses long enough for the late bytes to arrive first: a late response may land
    # in the same widget's next exchange (HTTP/1.1 cannot tell it from the answer), never in another's.
    rng = random.Random(11)

    async def widget(key: str) -> list[Call]:
        results = []
        for n in range(30):
            mode = "late-unsolicited-response" if n % 2 else "honest"
            results.append(await call(client, server, key, f"{key}-{n}", mode))
            await asyncio.sleep(rng.random() * LATE / 2)  # the widgets' calls interleave
        return results

    async with HostileServer() as server:
        per_widget = await asyncio.gather(*(widget(f"w{i}") for i in range(5)))
    for results in per_widget:
        for result in results:
            if result.response is not None:
                assert {t.split("-")[0] for t in tokens_in(result.response)} <= {result.key}
    assert all(len(keys) == 1 for keys in server.keys_by_connection.values())


@pytest.mark.anyio
async def test_a_connection_serves_one_pool_key_only(client: WebhookClient) -> None:
    async with HostileServer() as server:
        for n in range(3):
            for key in ("a", "b"):
                assert_own_reply(await call(client, server, key, f"{key}{n}", "honest"))
    # Two widgets, two kept-alive connections, each reused by its own widget only
    assert server.keys_by_connection == {1: {"a"}, 2: {"b"}}
