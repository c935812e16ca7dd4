"""Cold-start benchmark: how long each Lambda handler module takes to import in a fresh interpreter.

Run from the repository root:

    .venv/bin/python -m scripts.bench.coldstart [--runs 15] [--json] [--check]

Each function's `functions/<name>/handler.py` is imported in a new `python` process; the child times
`importlib.import_module` with `time.perf_counter` (so interpreter start-up is excluded) and reports
whether `fastapi` ended up in `sys.modules`. The whole process time is measured by the parent too.

The machine is shared and noisy, so absolute times mean little: every figure is compared against a
baseline measured in the same run, a minimal FastAPI + Mangum app imported the same way. The rounds
interleave all modules (in a shuffled order per round) so that noise hits them all equally, and the
median over the rounds is reported.

Bytecode caches are warm, as in a deployed Lambda: one untimed import per module runs first, with
`PYTHONDONTWRITEBYTECODE` removed from the child's environment so that the `.pyc` files get written.

A second, informational baseline (`baseline-gc-off`) is the same app imported the way the handlers
import (`shared.startup.handler_init`: no garbage collection until start-up is done, then freeze):
the column "vs gc-off" shows what the handlers cost over that, so the gain from the start-up
pattern and the rest are told apart.

Targets: every HTTP function imports in at most 1.3x the baseline's time, and the scheduled
functions do not import fastapi at all. Exit status is 0 unless `--check` is given and a target fails.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

ROOT = Path(__file__).resolve().parents[2]

Kind = Literal["http", "scheduled", "baseline", "reference"]

HTTP_FUNCTIONS = ("widget_config", "chat", "auth", "admin", "analytics")
SCHEDULED_FUNCTIONS = ("webhook_check", "demo_purge", "analytics_rollup")
MAX_HTTP_RATIO = 1.3
BASELINE_NAME = "baseline"
BASELINE_MODULE = "_coldstart_baseline"
REFERENCE_NAME = "baseline-gc-off"
REFERENCE_MODULE = "_coldstart_baseline_gc_off"

BASELINE_SOURCE = '''"""Minimal FastAPI + Mangum app: the cold-start baseline."""

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()


@app.get("/")
def root() -> dict[str, str]:
    return {"ok": "yes"}


handler = Mangum(app, lifespan="off")
'''
# The same app, started the way the handlers start (shared.startup.handler_init, inlined).
REFERENCE_SOURCE = f"import gc\n\ngc.disable()\n{BASELINE_SOURCE}\ngc.freeze()\ngc.enable()\n"

# Runs in the child: argv[1] is the module, argv[2] an extra sys.path entry (may be empty).
# Only what the timing itself needs is imported before the clock starts.
CHILD_CODE = """
import importlib, sys, time
if sys.argv[2]:
    sys.path.insert(0, sys.argv[2])
before = len(sys.modules)
start = time.perf_counter()
importlib.import_module(sys.argv[1])
elapsed = time.perf_counter() - start
fastapi_loaded = "fastapi" in sys.modules
modules = len(sys.modules) - before
import json
print(json.dumps({"import_s": elapsed, "fastapi": fastapi_loaded, "modules": modules}))
"""

CHILD_ENV = {
    "DATABASE_URL": "postgresql://bench@127.0.0.1:1/bench",
    "ENVIRONMENT": "development",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
}
# Removed from the child's environment: the first would keep the bytecode caches cold, the others
# would make settings reach for SSM (the network) at import time.
CHILD_ENV_REMOVED = ("PYTHONDONTWRITEBYTECODE", "DATABASE_URL_SSM_PARAMETER", "SIGNING_KEY_SSM_PARAMETER")


@dataclass(frozen=True)
class Target:
    """One module to import: a function's handler, or the baseline app."""

    name: str
    kind: Kind
    module: str
    extra_path: str = ""


@dataclass(frozen=True)
class Sample:
    """What one child process reported."""

    import_ms: float
    process_ms: float
    fastapi: bool
    modules: int


@dataclass(frozen=True)
class Result:
    """The summary for one target over all rounds."""

    name: str
    kind: Kind
    median_import_ms: float
    median_process_ms: float
    ratio: float
    ratio_to_reference: float
    process_ratio: float
    fastapi_imported: bool
    modules_imported: int
    passed: bool
    target: str


def child_env() -> dict[str, str]:
    """The parent's environment, minus what would cool the caches or touch the network, plus settings."""
    env = {key: value for key, value in os.environ.items() if key not in CHILD_ENV_REMOVED}
    env.update(CHILD_ENV)
    return env


def lambda_site() -> Path:
    """A folder holding only the runtime packages (requirements.txt), as the Lambda layer does.

    The dev venv has ~120 distributions; some packages scan them all at import (psycopg-binary
    reads its own version through importlib.metadata), which would overstate the cold start.
    Built once per requirements.txt content, with bytecode compiled as pip does by default.
    """
    requirements = ROOT / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    site = ROOT / ".data" / "bench" / f"lambda-site-{digest}"
    if not (site / ".complete").exists():
        shutil.rmtree(site, ignore_errors=True)
        print(f"building {site.relative_to(ROOT)} (runtime packages only) ...", file=sys.stderr)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--target",
                str(site),
                "-r",
                str(requirements),
            ],
            check=True,
        )
        (site / ".complete").touch()
    return site


def interpreter(site: str) -> tuple[list[str], dict[str, str]]:
    """How to start a child: the venv as it is, or a bare interpreter on the Lambda-like site."""
    env = child_env()
    if site == "venv":
        return [sys.executable], env
    env["PYTHONPATH"] = os.pathsep.join([str(lambda_site()), str(ROOT)])
    return [sys.executable, "-S"], env


def run_child(target: Target, env: dict[str, str], python: list[str]) -> Sample:
    """Import `target` in a fresh interpreter; fail loudly if the import fails."""
    start = time.perf_counter()
    completed = subprocess.run(
        [*python, "-c", CHILD_CODE, target.module, target.extra_path],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    process_ms = (time.perf_counter() - start) * 1000
    if completed.returncode != 0:
        raise RuntimeError(f"importing {target.module} failed:\n{completed.stderr}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return Sample(
        import_ms=float(report["import_s"]) * 1000,
        process_ms=process_ms,
        fastapi=bool(report["fastapi"]),
        modules=int(report["modules"]),
    )


def discover_targets(baseline_dir: Path) -> list[Target]:
    """The baseline plus every `functions/*/handler.py`, with its kind."""
    targets = [
        Target(BASELINE_NAME, "baseline", BASELINE_MODULE, str(baseline_dir)),
        Target(REFERENCE_NAME, "reference", REFERENCE_MODULE, str(baseline_dir)),
    ]
    order = {name: index for index, name in enumerate(HTTP_FUNCTIONS + SCHEDULED_FUNCTIONS)}
    handlers = sorted((ROOT / "functions").glob("*/handler.py"), key=lambda p: order.get(p.parent.name, -1))
    for handler in handlers:
        name = handler.parent.name
        if name in HTTP_FUNCTIONS:
            kind: Kind = "http"
        elif name in SCHEDULED_FUNCTIONS:
            kind = "scheduled"
        else:
            raise SystemExit(f"functions/{name} is neither a known HTTP nor a scheduled function")
        targets.append(Target(name, kind, f"functions.{name}.handler"))
    missing = set(HTTP_FUNCTIONS + SCHEDULED_FUNCTIONS) - {target.name for target in targets}
    if missing:
        raise SystemExit(f"missing handlers: {', '.join(sorted(missing))}")
    return targets


def measure(
    targets: list[Target], runs: int, seed: int, progress: bool, site: str = "lambda"
) -> dict[str, list[Sample]]:
    """One untimed warm-up import per target, then `runs` rounds, each importing every target once."""
    python, env = interpreter(site)
    for target in targets:
        run_child(target, env, python)
    samples: dict[str, list[Sample]] = {target.name: [] for target in targets}
    rng = random.Random(seed)
    for round_no in range(runs):
        order = list(targets)
        rng.shuffle(order)
        for target in order:
            samples[target.name].append(run_child(target, env, python))
        if progress:
            print(f"round {round_no + 1}/{runs}", file=sys.stderr)
    return samples


def summarise(targets: list[Target], samples: dict[str, list[Sample]]) -> list[Result]:
    """Medians, ratios against the baseline, and the verdict for each target."""
    base = samples[BASELINE_NAME]
    base_import = statistics.median(sample.import_ms for sample in base)
    base_process = statistics.median(sample.process_ms for sample in base)
    reference_import = statistics.median(sample.import_ms for sample in samples[REFERENCE_NAME])
    results = []
    for target in targets:
        own = samples[target.name]
        median_import = statistics.median(sample.import_ms for sample in own)
        median_process = statistics.median(sample.process_ms for sample in own)
        ratio = median_import / base_import
        fastapi_imported = any(sample.fastapi for sample in own)
        if target.kind == "http":
            passed, goal = ratio <= MAX_HTTP_RATIO, f"<= {MAX_HTTP_RATIO}x baseline"
        elif target.kind == "scheduled":
            passed, goal = not fastapi_imported, "no fastapi"
        else:
            passed, goal = True, "-"
        results.append(
            Result(
                name=target.name,
                kind=target.kind,
                median_import_ms=round(median_import, 2),
                median_process_ms=round(median_process, 2),
                ratio=round(ratio, 3),
                ratio_to_reference=round(median_import / reference_import, 3),
                process_ratio=round(median_process / base_process, 3),
                fastapi_imported=fastapi_imported,
                modules_imported=max(sample.modules for sample in own),
                passed=passed,
                target=goal,
            )
        )
    return results


def format_table(results: list[Result]) -> str:
    """A Markdown table (readable in a terminal too)."""
    lines = [
        "| function | kind | import ms (median) | ratio | vs gc-off | process ms (median) | process ratio "
        "| modules | fastapi | target | result |",
        "|---|---|--:|--:|--:|--:|--:|--:|---|---|---|",
    ]
    for r in results:
        verdict = "-" if r.kind in ("baseline", "reference") else ("PASS" if r.passed else "FAIL")
        lines.append(
            f"| {r.name} | {r.kind} | {r.median_import_ms:.1f} | {r.ratio:.2f}x | {r.ratio_to_reference:.2f}x "
            f"| {r.median_process_ms:.1f} "
            f"| {r.process_ratio:.2f}x | {r.modules_imported} | {'yes' if r.fastapi_imported else 'no'} "
            f"| {r.target} | {verdict} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=15, help="timed rounds per module (default 15)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the per-round shuffle (default 0)")
    parser.add_argument(
        "--site",
        choices=["lambda", "venv"],
        default="lambda",
        help="lambda: only the runtime packages, as deployed (default); venv: the dev virtualenv",
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        baseline_dir = Path(tmp)
        (baseline_dir / f"{BASELINE_MODULE}.py").write_text(BASELINE_SOURCE)
        (baseline_dir / f"{REFERENCE_MODULE}.py").write_text(REFERENCE_SOURCE)
        targets = discover_targets(baseline_dir)
        samples = measure(targets, args.runs, args.seed, progress=not args.json, site=args.site)
    results = summarise(targets, samples)
    failed = [r for r in results if not r.passed]
    if args.json:
        payload = {
            "runs": args.runs,
            "python": sys.version.split()[0],
            "site": args.site,
            "max_http_ratio": MAX_HTTP_RATIO,
            "passed": not failed,
            "results": [asdict(r) for r in results],
        }
        print(json.dumps(payload, indent=2))
    else:
        print(
            f"Cold start ({args.site} site): median of {args.runs} fresh-interpreter imports, ratio to the baseline\n"
        )
        print(format_table(results))
        print()
        print("PASS: all targets met" if not failed else f"FAIL: {', '.join(r.name for r in failed)}")
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
