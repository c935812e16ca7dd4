"""Relay overhead benchmark: visitor messages through the dev runner versus straight to the webhook.

Run from the repository root:

    .venv/bin/python -m scripts.bench.relay [--sessions 32] [--seconds 10] [--rate 300] [--json] [--check]

One run sets up everything and tears it down again:
- a fresh database (`cwp_bench_relay`) on the embedded Postgres under `.data/bench-postgres`, or on the
  server `$DATABASE_URL` names, migrated, holding one client and one widget whose webhook is ...
- ... a local webhook in its own process: a raw asyncio HTTP/1.1 keep-alive server that answers
  every request at once with `{"output": "ok", "confidence": 0.9}`, so it is never the bottleneck;
- the dev runner (`python -m scripts.dev --no-seed`: one uvicorn process, the real database);
- a load generator in this process: N sessions (each with its own token from POST /sessions and its
  own keep-alive connection), written on raw asyncio streams so that the generator costs little of
  the two shared cores.

The same generator sends the same requests (same body, same headers) either through the platform
(POST /v1/widgets/{id}/messages, which relays to the webhook and logs the exchange) or straight to the
webhook. Two loads, each measured on both paths:
- closed loop: every session sends its next message as soon as the previous reply arrives; this gives
  the saturated throughput (messages per second through one process). Its latency is mostly queueing.
- open loop: a fixed offered rate (`--rate`, evenly spaced, round-robin over the sessions); its
  latency overhead (platform minus direct, p50 and p99) is the figure the targets are about. Latency
  is measured from the actual send; a session still waiting for its previous reply sends late, so a
  path that cannot keep up achieves less than the offered rate (reported) and its lateness grows.
Segments interleave the two paths (ABBA over `--rounds`) so that noise on the shared machine hits both.
CPU seconds per message of each process (generator, runner, webhook, Postgres) are read from /proc,
with the machine-wide busy time, so that other tenants' load shows ("others").

The runner gets LOG_LEVEL=WARNING (no access line per request; the count of access lines in its log
is reported to prove it) and CLIENT_IP_HEADER=CloudFront-Viewer-Address, and each session sends its
own address in that header, as behind CloudFront (`--one-ip`: all from one address). The widget's
rate limits are raised to the model's maximum (10,000 per session, 100,000 per address per minute).
`--py-spy FILE` records the runner with py-spy (`--gil`, raw collapsed stacks) during the run.

Targets: overhead at the fixed rate p50 <= 5 ms and p99 <= 20 ms; at least 300 messages/s through
one process (closed loop); one `chat_logs` row, answered, per message sent. Exit status is 0 unless
`--check` is given and a target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal
from uuid import UUID

import psycopg

from scripts.bench.harness import (
    BENCH_DIR,
    BenchDatabase,
    bench_database,
    bench_parser,
    create_bench_widget,
    free_port,
    percentile,
    reference_workload_ms,
    stop_process,
    verdict,
)
from scripts.dev import start_in_background
from scripts.localdb import ROOT

DATABASE_NAME = "cwp_bench_relay"

PathName = Literal["direct", "platform"]
Mode = Literal["closed", "open"]
PATHS: tuple[PathName, PathName] = ("direct", "platform")

MAX_OVERHEAD_P50_MS = 5.0
MAX_OVERHEAD_P99_MS = 20.0
MIN_MESSAGES_PER_SECOND = 300.0
# WidgetConfig caps the per-session limit at 10,000/min; both are far above what the load sends.
RATE_LIMITS = {
    "per_session_per_minute": 10_000,
    "per_ip_per_minute": 100_000,
    "per_ip_sessions_per_minute": 100_000,
}
CLIENT_IP_HEADER = "CloudFront-Viewer-Address"
CLK_TCK = os.sysconf("SC_CLK_TCK")
COMPONENTS = ("generator", "runner", "webhook", "postgres")  # the benchmark's own processes

# --------------------------------------------------------------------------------------------------
# The webhook: a minimal HTTP/1.1 server (keep-alive, pipelining-safe, any number of connections).

WEBHOOK_REPLY = b'{"output":"ok","confidence":0.9}'
_WEBHOOK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(
    WEBHOOK_REPLY
)
WEBHOOK_RESPONSE = _WEBHOOK_HEAD + b"\r\n" + WEBHOOK_REPLY
WEBHOOK_RESPONSE_CLOSE = _WEBHOOK_HEAD + b"Connection: close\r\n\r\n" + WEBHOOK_REPLY
WEBHOOK_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_HEAD_BYTES = 64 * 1024


class WebhookProtocol(asyncio.Protocol):
    """Reads requests (head + Content-Length body) off one connection and answers each at once."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        assert transport is not None
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    self._reject(transport)
                return
            lines = bytes(self._buffer[:end]).lower().split(b"\r\n")
            keep_alive = not lines[0].endswith(b"http/1.0")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name, value = name.strip(), value.strip()
                if name == b"content-length" and value.isdigit():
                    length = int(value)
                elif name == b"connection":
                    keep_alive = value == b"keep-alive" or (keep_alive and value != b"close")
                elif name == b"transfer-encoding":  # never sent by httpx for a bytes body
                    self._reject(transport)
                    return
            if len(self._buffer) < end + 4 + length:
                return
            del self._buffer[: end + 4 + length]
            if keep_alive:
                transport.write(WEBHOOK_RESPONSE)
            else:
                transport.write(WEBHOOK_RESPONSE_CLOSE)
                transport.close()
                return

    def _reject(self, transport: asyncio.Transport) -> None:
        transport.write(WEBHOOK_BAD_REQUEST)
        transport.close()
        self._buffer.clear()


async def serve_webhook(port: int) -> None:
    """Serve the webhook on 127.0.0.1:`port` (0: any free port) until SIGTERM; prints the port."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(WebhookProtocol, "127.0.0.1", port, backlog=1024)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await stop.wait()


# --------------------------------------------------------------------------------------------------
# The load generator's client: one keep-alive connection per session, no client library.


class ProtocolError(Exception):
    """A reply the generator cannot read (no Content-Length)."""


class Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time (a visitor's browser tab)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; returns the status and the body."""
        self._writer.write(request)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lowered = head.lower()
        at = lowered.find(b"\r\ncontent-length:")
        if at < 0:
            raise ProtocolError(f"no Content-Length in {head[:200]!r}")
        length = int(lowered[at + 17 : lowered.index(b"\r\n", at + 2)])
        body = await self._reader.readexactly(length) if length else b""
        return status, body

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


@dataclass(frozen=True)
class Load:
    """What the sessions send on one path: the request line and headers per session, and a body."""

    port: int
    heads: list[bytes]  # per session, everything up to (not including) Content-Length

    def request(self, session: int, number: int) -> bytes:
        body = (
            b'{"message":"bench message %d from session %d","metadata":'
            b'{"page_url":"https://shop.example/products/42","locale":"en-GB"}}' % (number, session)
        )
        return self.heads[session] + b"Content-Length: %d\r\n\r\n" % len(body) + body


def make_loads(
    *, platform_port: int, webhook_port: int, widget_id: UUID, tokens: list[str], one_ip: bool
) -> dict[PathName, Load]:
    """The same requests for both paths; only the request target and Host differ."""

    def heads(port: int, target: str) -> list[bytes]:
        return [
            (
                f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                f"Accept: application/json\r\nOrigin: https://shop.example\r\nAuthorization: Bearer {token}\r\n"
                f"{CLIENT_IP_HEADER}: {visitor_address(0 if one_ip else index)}\r\n"
            ).encode()
            for index, token in enumerate(tokens)
        ]

    return {
        "direct": Load(webhook_port, heads(webhook_port, "/webhook")),
        "platform": Load(platform_port, heads(platform_port, f"/v1/widgets/{widget_id}/messages")),
    }


def visitor_address(index: int) -> str:
    """A distinct visitor address per session, as CloudFront reports it ("ip:port")."""
    return f"198.51.100.{index % 250 + 1}:{40000 + index}"


# --------------------------------------------------------------------------------------------------
# CPU accounting from /proc: who spends the cores, per message.


def process_cpu_seconds(pid: int, *, system_only: bool = False) -> float:
    """User + system (or only system) CPU seconds of one process (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[12]) + (0 if system_only else int(fields[11]))) / CLK_TCK


def process_tree_cpu_seconds(root_pid: int) -> float:
    """CPU seconds of a process and its direct children (a postmaster and its backends)."""
    total = process_cpu_seconds(root_pid)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == root_pid:
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
    return total


def _machine_cpu_ticks() -> list[int]:
    return [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]


def machine_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine (all cores, every tenant, and "steal"), from /proc/stat."""
    ticks = _machine_cpu_ticks()
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / CLK_TCK


def machine_steal_seconds() -> float:
    """CPU seconds the hypervisor gave to other virtual machines instead of this one."""
    return _machine_cpu_ticks()[7] / CLK_TCK


@dataclass
class CpuMeter:
    """Snapshots of CPU seconds per component; `postgres_pid` is None for a remote server."""

    runner_pid: int
    webhook_pid: int
    postgres_pid: int | None

    def snapshot(self) -> dict[str, float]:
        times = os.times()
        values = {
            "generator": times.user + times.system,
            "runner": process_cpu_seconds(self.runner_pid),
            "runner_kernel": process_cpu_seconds(self.runner_pid, system_only=True),
            "webhook": process_cpu_seconds(self.webhook_pid),
            "machine": machine_busy_seconds(),
            "steal": machine_steal_seconds(),
        }
        if self.postgres_pid is not None:
            values["postgres"] = process_tree_cpu_seconds(self.postgres_pid)
        return values


# --------------------------------------------------------------------------------------------------
# Measuring.


@dataclass
class Segment:
    """One measured stretch of one load on one path."""

    path: PathName
    mode: Mode
    seconds: float
    latencies: list[float] = field(default_factory=list)  # send to reply, seconds
    lateness: list[float] = field(default_factory=list)  # open loop: send time minus scheduled time
    completed_in_window: int = 0
    errors: int = 0
    elapsed: float = 0.0  # wall seconds from the first send to the last reply
    cpu: dict[str, float] = field(default_factory=dict)


async def open_connections(port: int, count: int) -> list[Connection]:
    return list(await asyncio.gather(*(Connection.open(port) for _ in range(count))))


async def close_connections(connections: list[Connection]) -> None:
    await asyncio.gather(*(c.close() for c in connections))


async def run_closed(load: Load, connections: list[Connection], segment: Segment) -> None:
    """Every session sends back to back for `segment.seconds`."""
    end = time.perf_counter() + segment.seconds

    async def session(index: int) -> None:
        connection, number = connections[index], 0
        while (sent := time.perf_counter()) < end:
            status, _ = await connection.exchange(load.request(index, number))
            received = time.perf_counter()
            number += 1
            segment.latencies.append(received - sent)
            segment.completed_in_window += received <= end
            segment.errors += status != 200

    await asyncio.gather(*(session(i) for i in range(len(connections))))


async def run_open(load: Load, connections: list[Connection], segment: Segment, rate: float) -> None:
    """Messages at `rate` per second, evenly spaced, round-robin over the sessions. A session still
    waiting for its previous reply sends late; the lateness is recorded."""
    sessions = len(connections)
    total = round(segment.seconds * rate)
    start = time.perf_counter() + 0.01

    async def session(index: int) -> None:
        connection = connections[index]
        for number in range(index, total, sessions):
            scheduled = start + number / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.perf_counter()
            status, _ = await connection.exchange(load.request(index, number))
            segment.latencies.append(time.perf_counter() - sent)
            segment.lateness.append(sent - scheduled)
            segment.completed_in_window += 1
            segment.errors += status != 200

    await asyncio.gather(*(session(i) for i in range(sessions)))


async def run_segment(
    load: Load, sessions: int, segment: Segment, rate: float, meter: CpuMeter | None
) -> Segment:
    """Fresh connections (uvicorn drops idle ones after 5 s), then the load, metered."""
    connections = await open_connections(load.port, sessions)
    try:
        before = meter.snapshot() if meter else {}
        started = time.perf_counter()
        if segment.mode == "closed":
            await run_closed(load, connections, segment)
        else:
            await run_open(load, connections, segment, rate)
        segment.elapsed = time.perf_counter() - started
        after = meter.snapshot() if meter else {}
    finally:
        await close_connections(connections)
    segment.cpu = {name: after[name] - before[name] for name in before}
    return segment


@dataclass(frozen=True)
class Summary:
    """All segments of one load on one path."""

    path: PathName
    mode: Mode
    messages: int
    errors: int
    seconds: float
    messages_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    late_p99_ms: float | None  # open loop: how late the generator sent (its own queueing)
    cpu_ms_per_message: dict[str, float]
    cores_busy: float  # machine-wide busy CPU seconds per wall second (every tenant)
    cores_busy_others: float  # the part of it that none of the benchmark's processes used
    cores_stolen: float  # the part of that the hypervisor gave to other virtual machines


def summarise(segments: list[Segment], path: PathName, mode: Mode) -> Summary:
    own = [s for s in segments if s.path == path and s.mode == mode]
    latencies = [v for s in own for v in s.latencies]
    lateness = [v for s in own for v in s.lateness]
    seconds = sum(s.seconds for s in own)
    elapsed = sum(s.elapsed for s in own)
    messages = len(latencies)
    # closed loop: replies within the window; open loop: what was achieved of the offered rate
    per_second = sum(s.completed_in_window for s in own) / seconds if mode == "closed" else messages / elapsed
    cpu: dict[str, float] = {}
    for s in own:
        for name, value in s.cpu.items():
            cpu[name] = cpu.get(name, 0.0) + value
    ours = sum(value for name, value in cpu.items() if name in COMPONENTS)
    return Summary(
        path=path,
        mode=mode,
        messages=messages,
        errors=sum(s.errors for s in own),
        seconds=round(seconds, 2),
        messages_per_second=round(per_second, 1),
        p50_ms=round(percentile(latencies, 50) * 1000, 3),
        p90_ms=round(percentile(latencies, 90) * 1000, 3),
        p99_ms=round(percentile(latencies, 99) * 1000, 3),
        max_ms=round(max(latencies) * 1000, 3),
        late_p99_ms=round(percentile(lateness, 99) * 1000, 3) if lateness else None,
        cpu_ms_per_message={name: round(value / messages * 1000, 3) for name, value in cpu.items()},
        cores_busy=round(cpu.get("machine", 0.0) / elapsed, 2),
        cores_busy_others=round(max(0.0, cpu.get("machine", 0.0) - ours) / elapsed, 2),
        cores_stolen=round(cpu.get("steal", 0.0) / elapsed, 2),
    )


# --------------------------------------------------------------------------------------------------
# Set-up and tear-down: database, widget, webhook process, dev runner.


def count_chat_logs(url: str, widget_id: UUID) -> tuple[int, int]:
    """(rows, answered rows) of the widget's chat_logs."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE status = 'answered') FROM chat_logs WHERE widget_id = %s",
            [widget_id],
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def read_log(path: Path) -> str:
    return path.read_text(errors="replace")


def start_webhook() -> tuple[subprocess.Popen[str], int]:
    """The webhook in its own process; returns it and its port."""
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.bench.relay", "--serve-webhook"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("port "):
        stop_process(process)
        raise SystemExit(f"the webhook did not start: {line!r}")
    return process, int(line.split()[1])


def start_runner(database_url: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """The dev runner on the bench database, seeing each session's own visitor address."""
    return start_in_background(
        database_url=database_url, port=port, log_path=log_path, env={"CLIENT_IP_HEADER": CLIENT_IP_HEADER}
    )


async def wait_until_serving(
    port: int, widget_id: UUID, runner: subprocess.Popen[bytes], log_path: Path, within: float = 90
) -> None:
    import httpx

    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
        while time.monotonic() < deadline:
            if runner.poll() is not None:
                raise SystemExit(f"the dev runner exited:\n{read_log(log_path)}")
            with contextlib.suppress(httpx.TransportError):
                response = await client.get(f"/v1/widgets/{widget_id}/config")
                if response.status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise SystemExit(f"the dev runner did not serve within {within:g} s:\n{read_log(log_path)}")


async def start_sessions(port: int, widget_id: UUID, count: int) -> list[str]:
    """One visitor session (token) per simulated visitor, through POST /sessions."""
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
        responses = await asyncio.gather(
            *(client.post(f"/v1/widgets/{widget_id}/sessions") for _ in range(count))
        )
    tokens = []
    for response in responses:
        if response.status_code != 201:
            raise SystemExit(f"POST /sessions answered {response.status_code}: {response.text}")
        tokens.append(str(response.json()["token"]))
    return tokens


def start_py_spy(output: Path, pid: int) -> subprocess.Popen[bytes]:
    executable = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(executable).exists():
        raise SystemExit("--py-spy needs py-spy (`.venv/bin/pip install py-spy`)")
    command = [executable, "record", "--pid", str(pid), "--rate", "250", "--format", "raw", "--gil"]
    return subprocess.Popen(
        [*command, "--nonblocking", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# --------------------------------------------------------------------------------------------------
# The run.


@dataclass(frozen=True)
class Options:
    sessions: int
    seconds: float
    warmup: float
    rate: float
    rounds: int
    one_ip: bool
    py_spy: Path | None
    progress: bool


@dataclass
class Outcome:
    summaries: dict[str, Summary]
    platform_sent: int
    platform_errors: int
    chat_logs: int
    chat_logs_answered: int
    runner_log_lines: int
    runner_access_lines: int
    reference_ms: tuple[float, float]  # the machine's speed before and after (`reference_workload_ms`)
    commit_ms: tuple[
        float, float
    ]  # the database disk's commit latency before and after (`commit_latency_ms`)


def log(options: Options, text: str) -> None:
    if options.progress:
        print(text, file=sys.stderr, flush=True)


def commit_latency_ms(url: str) -> float:
    """Median milliseconds of committing a one-row INSERT into a logged table (200 of them).

    Every answered message commits its `chat_logs` row durably (the rate-limit table is UNLOGGED, so
    its upsert waits for no disk), so the overhead cannot be lower than this: a reading of the
    database's disk, as `reference_workload_ms` is of the CPU.
    """
    times = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (x int)")
        for _ in range(200):
            start = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_probe VALUES (1)")
            times.append(time.perf_counter() - start)
        conn.execute("DROP TABLE bench_commit_probe")
    return round(statistics.median(times) * 1000, 2)


async def measure(options: Options, database: BenchDatabase) -> Outcome:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    reference_before = reference_workload_ms()
    commit_before = commit_latency_ms(database.url)
    runner_log = BENCH_DIR / "relay-runner.log"
    webhook, webhook_port = start_webhook()
    runner: subprocess.Popen[bytes] | None = None
    profiler: subprocess.Popen[bytes] | None = None
    try:
        widget_id = await create_bench_widget(
            database.url,
            f"http://127.0.0.1:{webhook_port}/webhook",
            name="Relay bench",
            config={"rate_limit": RATE_LIMITS},
        )
        port = free_port()
        runner = start_runner(database.url, port, runner_log)
        await wait_until_serving(port, widget_id, runner, runner_log)
        tokens = await start_sessions(port, widget_id, options.sessions)
        loads = make_loads(
            platform_port=port,
            webhook_port=webhook_port,
            widget_id=widget_id,
            tokens=tokens,
            one_ip=options.one_ip,
        )
        meter = CpuMeter(runner.pid, webhook.pid, database.postmaster_pid)
        if options.py_spy:
            profiler = start_py_spy(options.py_spy, runner.pid)
        log(options, f"dev runner pid {runner.pid} on :{port}, webhook pid {webhook.pid} on :{webhook_port}")

        warmups: list[Segment] = []
        for path in PATHS:  # warm-up: connections, caches, lazily built schemas
            warm = Segment(path, "closed", options.warmup)
            warmups.append(await run_segment(loads[path], options.sessions, warm, options.rate, None))
        measured: list[Segment] = []
        per_segment = options.seconds / options.rounds
        for round_no in range(options.rounds):
            order = PATHS if round_no % 2 == 0 else PATHS[::-1]
            for mode in ("closed", "open"):
                for path in order:
                    segment = Segment(path, mode, per_segment)
                    await run_segment(loads[path], options.sessions, segment, options.rate, meter)
                    measured.append(segment)
                    log(
                        options,
                        f"round {round_no + 1}/{options.rounds} {mode:6} {path:8} "
                        f"{len(segment.latencies) / segment.elapsed:7.1f} msg/s  "
                        f"p50 {percentile(segment.latencies, 50) * 1000:6.2f} ms  "
                        f"p99 {percentile(segment.latencies, 99) * 1000:6.2f} ms",
                    )
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            try:
                profiler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                profiler.kill()
        if runner is not None:
            stop_process(runner)
        stop_process(webhook)

    summaries = {
        f"{mode}/{path}": summarise(measured, path, mode) for mode in ("closed", "open") for path in PATHS
    }
    reference_after = reference_workload_ms()
    commit_after = commit_latency_ms(database.url)
    platform = [s for s in warmups + measured if s.path == "platform"]
    rows, answered = count_chat_logs(database.url, widget_id)
    lines = read_log(runner_log).splitlines()
    return Outcome(
        summaries=summaries,
        platform_sent=sum(len(s.latencies) for s in platform),
        platform_errors=sum(s.errors for s in platform),
        chat_logs=rows,
        chat_logs_answered=answered,
        runner_log_lines=len(lines),
        runner_access_lines=sum(
            '"message": "request"' in line or '"message":"request"' in line for line in lines
        ),
        reference_ms=(reference_before, reference_after),
        commit_ms=(commit_before, commit_after),
    )


@dataclass(frozen=True)
class Check:
    name: str
    value: str
    target: str
    passed: bool


def evaluate(outcome: Outcome, rate: float) -> tuple[dict[str, float], list[Check]]:
    s = outcome.summaries
    overhead = {
        "open_p50_ms": round(s["open/platform"].p50_ms - s["open/direct"].p50_ms, 3),
        "open_p99_ms": round(s["open/platform"].p99_ms - s["open/direct"].p99_ms, 3),
        "closed_p50_ms": round(s["closed/platform"].p50_ms - s["closed/direct"].p50_ms, 3),
        "closed_p99_ms": round(s["closed/platform"].p99_ms - s["closed/direct"].p99_ms, 3),
    }
    throughput = s["closed/platform"].messages_per_second
    checks = [
        Check(
            f"overhead p50 at {rate:g} msg/s",
            f"{overhead['open_p50_ms']:.2f} ms",
            f"<= {MAX_OVERHEAD_P50_MS:g} ms",
            overhead["open_p50_ms"] <= MAX_OVERHEAD_P50_MS,
        ),
        Check(
            f"overhead p99 at {rate:g} msg/s",
            f"{overhead['open_p99_ms']:.2f} ms",
            f"<= {MAX_OVERHEAD_P99_MS:g} ms",
            overhead["open_p99_ms"] <= MAX_OVERHEAD_P99_MS,
        ),
        Check(
            "throughput through one process",
            f"{throughput:.0f} msg/s",
            f">= {MIN_MESSAGES_PER_SECOND:g} msg/s",
            throughput >= MIN_MESSAGES_PER_SECOND,
        ),
        Check(
            "chat_logs rows = messages sent (answered)",
            f"{outcome.chat_logs} rows ({outcome.chat_logs_answered} answered) / {outcome.platform_sent} sent",
            "equal, all answered",
            outcome.chat_logs == outcome.platform_sent == outcome.chat_logs_answered
            and outcome.platform_errors == 0,
        ),
    ]
    return overhead, checks


def format_report(options: Options, outcome: Outcome, overhead: dict[str, float], checks: list[Check]) -> str:
    components = (*COMPONENTS, "machine")
    lines = [
        f"Relay overhead: {options.sessions} sessions, {options.seconds:g} s per path and load "
        f"({options.rounds} interleaved rounds), open loop at {options.rate:g} msg/s\n",
        "| load | path | messages | msg/s | p50 ms | p90 ms | p99 ms | max ms "
        "| CPU ms/msg: generator / runner / webhook / postgres / machine | cores busy: all (others; stolen) |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|--:|",
    ]
    for key, summary in outcome.summaries.items():
        mode, path = key.split("/")
        load = "closed loop" if mode == "closed" else f"open {options.rate:g}/s"
        cpu = " / ".join(
            f"{summary.cpu_ms_per_message[c]:.2f}" if c in summary.cpu_ms_per_message else "-"
            for c in components
        )
        lines.append(
            f"| {load} | {path} | {summary.messages} | {summary.messages_per_second:.0f} | {summary.p50_ms:.2f} "
            f"| {summary.p90_ms:.2f} | {summary.p99_ms:.2f} | {summary.max_ms:.1f} | {cpu} "
            f"| {summary.cores_busy:.2f} ({summary.cores_busy_others:.2f}; {summary.cores_stolen:.2f}) |"
        )
    s = outcome.summaries
    lines += [
        "",
        f"overhead (platform - direct), open {options.rate:g}/s: p50 {overhead['open_p50_ms']:+.2f} ms, "
        f"p99 {overhead['open_p99_ms']:+.2f} ms",
        f"overhead (platform - direct), closed loop: p50 {overhead['closed_p50_ms']:+.2f} ms, "
        f"p99 {overhead['closed_p99_ms']:+.2f} ms",
        f"saturated throughput: platform {s['closed/platform'].messages_per_second:.0f} msg/s, direct "
        f"{s['closed/direct'].messages_per_second:.0f} msg/s "
        f"({s['closed/platform'].messages_per_second / s['closed/direct'].messages_per_second:.3f}x)",
        "dev runner CPU per message (kernel part): closed loop "
        f"{s['closed/platform'].cpu_ms_per_message.get('runner', 0):.2f} "
        f"({s['closed/platform'].cpu_ms_per_message.get('runner_kernel', 0):.2f}) ms, open loop "
        f"{s['open/platform'].cpu_ms_per_message.get('runner', 0):.2f} "
        f"({s['open/platform'].cpu_ms_per_message.get('runner_kernel', 0):.2f}) ms",
        f"open loop, generator lateness p99: direct {s['open/direct'].late_p99_ms} ms, "
        f"platform {s['open/platform'].late_p99_ms} ms",
        f"dev runner log: {outcome.runner_log_lines} lines, {outcome.runner_access_lines} access lines",
        f"machine speed (reference workload, CPU ms, lower is faster): {outcome.reference_ms[0]:.1f} before, "
        f"{outcome.reference_ms[1]:.1f} after",
        f"database commit latency (one-row INSERT, median ms; the floor under the overhead): "
        f"{outcome.commit_ms[0]:.2f} before, {outcome.commit_ms[1]:.2f} after",
        "",
        "| target | value | goal | result |",
        "|---|---|---|---|",
        *(f"| {c.name} | {c.value} | {c.target} | {'PASS' if c.passed else 'FAIL'} |" for c in checks),
    ]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--sessions", type=int, default=32, help="concurrent visitor sessions (default 32)")
    parser.add_argument(
        "--seconds", type=float, default=10, help="measured seconds per path and load (default 10)"
    )
    parser.add_argument("--warmup", type=float, default=1, help="warm-up seconds per path (default 1)")
    parser.add_argument("--rate", type=float, default=300, help="open-loop messages per second (default 300)")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (default 2)")
    parser.add_argument(
        "--one-ip",
        action="store_true",
        help="every session from the same address (default: one address per session, as behind CloudFront)",
    )
    parser.add_argument("--py-spy", type=Path, metavar="FILE", help="profile the dev runner into FILE (raw)")
    parser.add_argument("--serve-webhook", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.seconds <= 0 or args.rate <= 0 or args.rounds < 1 or args.warmup < 0:
        parser.error("--sessions, --seconds, --rate and --rounds must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_webhook:
        asyncio.run(serve_webhook(0))
        return 0
    options = Options(
        sessions=args.sessions,
        seconds=args.seconds,
        warmup=args.warmup,
        rate=args.rate,
        rounds=args.rounds,
        one_ip=args.one_ip,
        py_spy=args.py_spy,
        progress=not args.json,
    )
    with bench_database(DATABASE_NAME) as database:
        outcome = asyncio.run(measure(options, database))
    overhead, checks = evaluate(outcome, options.rate)
    failed = [c for c in checks if not c.passed]
    if args.json:
        payload = {
            "sessions": options.sessions,
            "seconds": options.seconds,
            "rounds": options.rounds,
            "rate": options.rate,
            "one_ip": options.one_ip,
            "python": sys.version.split()[0],
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "database": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded",
            "summaries": {key: asdict(summary) for key, summary in outcome.summaries.items()},
            "overhead": overhead,
            "platform_sent": outcome.platform_sent,
            "platform_errors": outcome.platform_errors,
            "chat_logs": outcome.chat_logs,
            "chat_logs_answered": outcome.chat_logs_answered,
            "runner_log_lines": outcome.runner_log_lines,
            "runner_access_lines": outcome.runner_access_lines,
            "reference_workload_ms": list(outcome.reference_ms),
            "checks": [asdict(c) for c in checks],
            "passed": not failed,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(format_report(options, outcome, overhead, checks))
        print()
        print(verdict([c.name for c in failed]))
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
