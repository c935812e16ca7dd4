"""Raw asyncio servers on 127.0.0.1 for the webhook client's tests: they write whatever bytes a test
scripts (well-formed, malformed, late, hostile), which no HTTP server library would send."""

from __future__ import annotations

import asyncio
import ssl
from typing import Self


class LoopbackServer:
    """A TCP server on a free loopback port; a subclass answers each connection in `serve`.

    `async with` starts it and, on the way out, stops listening and cancels the connections still
    open (and any task added to `tasks`)."""

    port: int = 0
    ssl_context: ssl.SSLContext | None = None

    async def start(self) -> None:
        self.tasks: set[asyncio.Future[None]] = set()
        self._server = await asyncio.start_server(self._track, "127.0.0.1", 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def _track(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        await self.serve(reader, writer)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """The next request's head and its Content-Length body (the client under test always sends one)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return head, await reader.readexactly(length)
