"""A real local HTTP server that answers as n8n's webhooks do, including their failure modes."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scripts.bench.harness import free_port

# Bodies exactly as n8n sends them.
NOT_REGISTERED = {
    "code": 404,
    "message": 'The requested webhook "POST 2f1c7e0e-webhook" is not registered.',
    "hint": "The workflow must be active for a production URL to run successfully.",
}
WORKFLOW_ERROR = {"message": "Error in workflow"}
EXECUTION_STARTED = {"executionStarted": True}


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"output": "ok"}'
    content_type: str = "application/json; charset=utf-8"
    delay: float = 0.0
    chunks: list[bytes] | None = None  # sent with chunked transfer encoding, as n8n streams


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeN8n:
    """Answers every POST with `answer`; records what it received."""

    answer: Answer = field(default_factory=Answer)
    received: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/webhook/2f1c7e0e"

    def reply(
        self,
        body: Any = None,
        *,
        status: int = 200,
        content_type: str | None = None,
        delay: float = 0.0,
        raw: bytes | None = None,
        chunks: list[bytes] | None = None,
    ) -> None:
        """Set the next answers: JSON of `body`, or `raw` bytes, or `chunks` streamed."""
        data = raw if raw is not None else json.dumps(body).encode()
        kind = content_type or (
            "application/json; charset=utf-8" if raw is None else "text/plain; charset=utf-8"
        )
        self.answer = Answer(status=status, body=data, content_type=kind, delay=delay, chunks=chunks)

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                fake.received.append(Received(self.path, dict(self.headers.items()), self.rfile.read(length)))
                answer = fake.answer
                time.sleep(answer.delay)
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                if answer.chunks is None:
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                    return
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in answer.chunks:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, *_: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the relay hanging up on a slow or oversized reply is expected

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def refused_url() -> str:
    """A loopback URL where nothing listens: connecting is refused."""
    return f"http://127.0.0.1:{free_port()}/webhook/nobody-home"
