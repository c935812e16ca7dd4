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

Every function is measured in two configurations, both as deployed (ENVIRONMENT=production, the
same secrets), interleaved in the same rounds and compared with the same baseline:
- "env": the secrets in environment variables (DATABASE_URL, SIGNING_KEY, ORIGIN_VERIFY_SECRET);
- "ssm": only their SSM parameter names set, as the template does. The HTTP functions read settings
  at import, so they import boto3, make a client and send one GetParameters request, which moto
  answers inside the measured process: a hook joins botocore's built-in handlers when botocore is
  first imported, and the first request starts moto and stores the parameters. moto's start-up is
  subtracted (time and modules): it stands in for the network. What a real cold start pays, boto3's
  import, the client, signing, the request and its parsing, is counted; the network round trip to
  SSM is not (a few ms in-region, plus a TLS handshake). The AWS requests each child made are
  reported. On the Lambda-like site moto is imported from the dev venv, after the handler's imports.

Targets (configuration "env"): every HTTP function imports in at most 1.3x the baseline's time, and
the scheduled functions do not import fastapi at all. Configuration "ssm" is information. Exit status
is 0 unless `--check` is given and a target fails.

`--instructions` counts instead of timing (configuration "env", needs valgrind): each module is
imported once under callgrind and the instructions the child executed are counted, less those of a
child that imports nothing (the interpreter's own start-up). The count does not move with the
machine's load, so it settles what noisy timings cannot; the same 1.3x target applies to it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from scripts.bench.harness import BENCH_DIR, bench_parser, positive_int, verdict
from scripts.localdb import ROOT

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

# Runs in the child: argv[1] is the module, argv[2] an extra sys.path entry (may be empty), argv[3]
# where moto can be imported from (configuration "ssm" on the Lambda-like site; may be empty).
# Only what the timing itself needs is imported before the clock starts. `#PRELUDE` is replaced
# by ENV_PRELUDE or SSM_PRELUDE; either defines `setup_s`, `setup_modules` and `aws_requests`.
CHILD_CODE = """
import importlib, sys, time
if sys.argv[2]:
    sys.path.insert(0, sys.argv[2])
#PRELUDE
before = len(sys.modules)
start = time.perf_counter()
importlib.import_module(sys.argv[1])
elapsed = time.perf_counter() - start - setup_s
fastapi_loaded = "fastapi" in sys.modules
modules = len(sys.modules) - before - setup_modules
import json
print(json.dumps({"import_s": elapsed, "fastapi": fastapi_loaded, "modules": modules, "aws": aws_requests}))
"""
ENV_PRELUDE = "setup_s, setup_modules, aws_requests = 0.0, 0, []"
# Configuration "ssm": as botocore.handlers is first imported (by the settings' `import boto3`),
# one before-send handler joins botocore's built-in ones (as moto's own stubber does on import),
# so every client the handler module makes sends its requests here. The first request starts moto
# and stores the parameters; that time, moto's answering of each request and the modules moto
# imports are subtracted: moto stands in for SSM and the network, which a real cold start waits
# for but does not compute. boto3's import, the client, building and signing the request, and
# parsing the reply are counted. `#PARAMETERS` is replaced by a dict literal, name -> value.
SSM_PRELUDE = """
import importlib.machinery
setup_s, setup_modules, aws_requests = 0.0, 0, []
moto_stubber = None
storing = False

def start_moto():
    global moto_stubber, setup_s, setup_modules, storing
    started, modules_before = time.perf_counter(), len(sys.modules)
    if sys.argv[3]:
        sys.path.append(sys.argv[3])
    import boto3
    from moto import mock_aws
    from moto.core.models import botocore_stubber
    mock_aws().start()
    moto_stubber, storing = botocore_stubber, True
    ssm = boto3.session.Session().client("ssm")
    for name, value in #PARAMETERS.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    storing = False
    setup_s += time.perf_counter() - started
    setup_modules += len(sys.modules) - modules_before

def serve_with_moto(**kwargs):
    global setup_s
    if moto_stubber is None:
        start_moto()
    if storing:
        return moto_stubber(**kwargs)
    aws_requests.append(kwargs["event_name"].removeprefix("before-send."))
    started = time.perf_counter()
    response = moto_stubber(**kwargs)
    setup_s += time.perf_counter() - started
    return response

class AddToBotocoreHandlers:
    def find_spec(self, name, path=None, target=None):
        if name != "botocore.handlers":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        execute = spec.loader.exec_module
        def exec_module(module):
            execute(module)
            module.BUILTIN_HANDLERS.append(("before-send", serve_with_moto))
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, AddToBotocoreHandlers())
"""

# Both configurations run as deployed (ENVIRONMENT=production, real-looking secrets, the origin
# secret set); they differ only in where the secrets come from.
SECRETS = {
    "DATABASE_URL": "postgresql://bench:bench-database-password@127.0.0.1:1/bench",
    "SIGNING_KEY": "bench-signing-key-" + "k" * 32,
    "ORIGIN_VERIFY_SECRET": "bench-origin-verify-secret-" + "o" * 32,
}
SSM_PARAMETER_NAMES = {variable: f"/bench/{variable.lower()}" for variable in SECRETS}
CHILD_ENV = {
    "ENVIRONMENT": "production",
    "POWERTOOLS_METRICS_NAMESPACE": "Bench",
    # What Lambda gives every function: a region and credentials in the environment.
    "AWS_REGION": "eu-west-1",
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_SESSION_TOKEN": "bench",
    "AWS_EC2_METADATA_DISABLED": "true",
    # No AWS config files, as in Lambda (a developer's ~/.aws would otherwise be read).
    "AWS_CONFIG_FILE": "/nonexistent/.aws/config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/.aws/credentials",
}
# Removed from the child's environment: the first would keep the bytecode caches cold, the others
# would change what settings read and from where (and might reach for the real AWS).
CHILD_ENV_REMOVED = (
    "PYTHONDONTWRITEBYTECODE",
    "AWS_PROFILE",
    *SECRETS,
    *(f"{variable}_SSM_PARAMETER" for variable in SECRETS),
)

Config = Literal["env", "ssm"]
CONFIGS: dict[Config, str] = {
    "env": "secrets in environment variables",
    "ssm": "secrets from SSM (GetParameters answered by moto in the measured process)",
}


@dataclass(frozen=True)
class Target:
    """One module to import: a function's handler, or the baseline app."""

    name: str
    kind: Kind
    module: str
    extra_path: str = ""


@dataclass(frozen=True)
class Sample:
    """What one child process reported (in configuration "ssm", without moto's start-up)."""

    import_ms: float
    process_ms: float
    fastapi: bool
    modules: int
    aws_requests: tuple[str, ...]


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


@dataclass(frozen=True)
class SsmResult:
    """One function in configuration "ssm", over all rounds (information, no target)."""

    name: str
    kind: Kind
    median_import_ms: float
    ratio: float
    extra_ms: float  # over the same function's median in configuration "env"
    modules_imported: int
    aws_requests: list[str]  # each distinct list of requests a child made, e.g. "ssm.GetParameters"


def child_env(config: Config) -> dict[str, str]:
    """The parent's environment, minus what would cool the caches, change the settings or reach the
    real AWS, plus the settings of `config`."""
    env = {key: value for key, value in os.environ.items() if key not in CHILD_ENV_REMOVED}
    env.update(CHILD_ENV)
    if config == "env":
        env.update(SECRETS)
    else:
        env.update({f"{variable}_SSM_PARAMETER": name for variable, name in SSM_PARAMETER_NAMES.items()})
    return env


def child_code(config: Config) -> str:
    """What a child runs in `config`."""
    if config == "env":
        return CHILD_CODE.replace("#PRELUDE", ENV_PRELUDE)
    parameters = {SSM_PARAMETER_NAMES[variable]: value for variable, value in SECRETS.items()}
    return CHILD_CODE.replace("#PRELUDE", SSM_PRELUDE.replace("#PARAMETERS", repr(parameters)))


def lambda_site() -> Path:
    """A folder holding only the runtime packages (requirements.txt), as the Lambda layer does.

    The dev venv has ~120 distributions; some packages scan them all at import (psycopg-binary
    reads its own version through importlib.metadata), which would overstate the cold start.
    Built once per requirements.txt content, with bytecode compiled as pip does by default.
    """
    requirements = ROOT / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    site = BENCH_DIR / f"lambda-site-{digest}"
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


@dataclass(frozen=True)
class Interpreter:
    """How to start a child: its command line, its environment per configuration, and where moto is
    imported from in configuration "ssm" ("" when the site has it)."""

    command: list[str]
    envs: dict[Config, dict[str, str]]
    moto_path: str


def interpreter(site: str) -> Interpreter:
    """The venv as it is, or a bare interpreter on the Lambda-like site (moto from the venv: the
    Lambda layer does not hold it, and it is imported only after the handler's own imports)."""
    envs = {config: child_env(config) for config in CONFIGS}
    if site == "venv":
        return Interpreter([sys.executable], envs, "")
    for env in envs.values():
        env["PYTHONPATH"] = os.pathsep.join([str(lambda_site()), str(ROOT)])
    return Interpreter([sys.executable, "-S"], envs, sysconfig.get_path("purelib"))


def run_child(target: Target, config: Config, python: Interpreter) -> Sample:
    """Import `target` in a fresh interpreter in `config`; fail loudly if the import fails."""
    start = time.perf_counter()
    completed = subprocess.run(
        [*python.command, "-c", child_code(config), target.module, target.extra_path, python.moto_path],
        cwd=ROOT,
        env=python.envs[config],
        capture_output=True,
        text=True,
        check=False,
    )
    process_ms = (time.perf_counter() - start) * 1000
    if completed.returncode != 0:
        raise RuntimeError(f"importing {target.module} ({config}) failed:\n{completed.stderr}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return Sample(
        import_ms=float(report["import_s"]) * 1000,
        process_ms=process_ms,
        fastapi=bool(report["fastapi"]),
        modules=int(report["modules"]),
        aws_requests=tuple(report["aws"]),
    )


def judge(kind: Kind, ratio: float, *, fastapi_imported: bool) -> tuple[bool, str]:
    """Whether a target of `kind` meets its goal, and the goal: HTTP functions within
    MAX_HTTP_RATIO of the baseline, scheduled ones without FastAPI, the baselines nothing."""
    if kind == "http":
        return ratio <= MAX_HTTP_RATIO, f"<= {MAX_HTTP_RATIO}x baseline"
    if kind == "scheduled":
        return not fastapi_imported, "no fastapi"
    return True, "-"


def result_cell(kind: Kind, passed: bool) -> str:
    return "-" if kind in ("baseline", "reference") else ("PASS" if passed else "FAIL")


# The zero point of `--instructions`: a child that imports a module already loaded.
INTERPRETER = Target("interpreter", "reference", "sys")


def count_instructions(target: Target, python: Interpreter) -> int:
    """Instructions a child importing `target` (configuration "env") executes under callgrind,
    with a fixed hash seed so that two counts of the same code agree."""
    completed = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            *python.command,
            "-c",
            child_code("env"),
            target.module,
            target.extra_path,
            python.moto_path,
        ],
        cwd=ROOT,
        env={**python.envs["env"], "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", completed.stderr)
    if completed.returncode != 0 or found is None:
        raise RuntimeError(f"counting {target.module} failed:\n{completed.stderr[-2000:]}")
    return int(found.group(1))


@dataclass(frozen=True)
class InstructionResult:
    """One target's import, counted (`--instructions`)."""

    name: str
    kind: Kind
    instructions: int  # over the interpreter's own start-up
    ratio: float
    fastapi_imported: bool
    passed: bool
    target: str


def measure_instructions(targets: list[Target], site: str, progress: bool) -> list[InstructionResult]:
    """Each target imported once (warm-up: bytecode written), then counted once."""
    python = interpreter(site)
    fastapi = {target.name: run_child(target, "env", python).fastapi for target in targets}
    zero = count_instructions(INTERPRETER, python)
    counts = {}
    for target in targets:
        counts[target.name] = count_instructions(target, python) - zero
        if progress:
            print(f"{target.name}: {counts[target.name] / 1e6:,.0f}M instructions", file=sys.stderr)
    base = counts[BASELINE_NAME]
    results = []
    for target in targets:
        ratio = counts[target.name] / base
        passed, goal = judge(target.kind, ratio, fastapi_imported=fastapi[target.name])
        results.append(
            InstructionResult(
                target.name,
                target.kind,
                counts[target.name],
                round(ratio, 3),
                fastapi[target.name],
                passed,
                goal,
            )
        )
    return results


def format_instruction_table(results: list[InstructionResult]) -> str:
    lines = [
        "| function | kind | instructions (M) | ratio | fastapi | target | result |",
        "|---|---|--:|--:|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.name} | {r.kind} | {r.instructions / 1e6:,.0f} | {r.ratio:.2f}x "
            f"| {'yes' if r.fastapi_imported else 'no'} | {r.target} | {result_cell(r.kind, r.passed)} |"
        )
    return "\n".join(lines)


def configs_of(target: Target) -> tuple[Config, ...]:
    """The baselines read no settings, so they run in configuration "env" only."""
    return ("env",) if target.kind in ("baseline", "reference") else ("env", "ssm")


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


Samples = dict[tuple[str, Config], list[Sample]]


def measure(targets: list[Target], runs: int, seed: int, progress: bool, site: str = "lambda") -> Samples:
    """One untimed warm-up import per target and configuration, then `runs` rounds, each importing
    every target once in each of its configurations, in a shuffled order."""
    python = interpreter(site)
    jobs = [(target, config) for target in targets for config in configs_of(target)]
    for target, config in jobs:
        run_child(target, config, python)
    samples: Samples = {(target.name, config): [] for target, config in jobs}
    rng = random.Random(seed)
    for round_no in range(runs):
        order = list(jobs)
        rng.shuffle(order)
        for target, config in order:
            samples[target.name, config].append(run_child(target, config, python))
        if progress:
            print(f"round {round_no + 1}/{runs}", file=sys.stderr)
    return samples


def summarise(targets: list[Target], samples: Samples) -> list[Result]:
    """Configuration "env": medians, ratios against the baseline, and the verdict for each target."""
    base = samples[BASELINE_NAME, "env"]
    base_import = statistics.median(sample.import_ms for sample in base)
    base_process = statistics.median(sample.process_ms for sample in base)
    reference_import = statistics.median(sample.import_ms for sample in samples[REFERENCE_NAME, "env"])
    results = []
    for target in targets:
        own = samples[target.name, "env"]
        median_import = statistics.median(sample.import_ms for sample in own)
        median_process = statistics.median(sample.process_ms for sample in own)
        ratio = median_import / base_import
        fastapi_imported = any(sample.fastapi for sample in own)
        passed, goal = judge(target.kind, ratio, fastapi_imported=fastapi_imported)
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


def summarise_ssm(targets: list[Target], samples: Samples) -> list[SsmResult]:
    """Configuration "ssm": medians and ratios against the same baseline (information, no target)."""
    base_import = statistics.median(sample.import_ms for sample in samples[BASELINE_NAME, "env"])
    results = []
    for target in targets:
        if "ssm" not in configs_of(target):
            continue
        own = samples[target.name, "ssm"]
        median_import = statistics.median(sample.import_ms for sample in own)
        env_import = statistics.median(sample.import_ms for sample in samples[target.name, "env"])
        requests = sorted({", ".join(sample.aws_requests) or "none" for sample in own})
        results.append(
            SsmResult(
                name=target.name,
                kind=target.kind,
                median_import_ms=round(median_import, 2),
                ratio=round(median_import / base_import, 3),
                extra_ms=round(median_import - env_import, 2),
                modules_imported=max(sample.modules for sample in own),
                aws_requests=requests,
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
        lines.append(
            f"| {r.name} | {r.kind} | {r.median_import_ms:.1f} | {r.ratio:.2f}x | {r.ratio_to_reference:.2f}x "
            f"| {r.median_process_ms:.1f} "
            f"| {r.process_ratio:.2f}x | {r.modules_imported} | {'yes' if r.fastapi_imported else 'no'} "
            f"| {r.target} | {result_cell(r.kind, r.passed)} |"
        )
    return "\n".join(lines)


def format_ssm_table(results: list[Result], ssm_results: list[SsmResult]) -> str:
    """Configuration "ssm" next to "env", both as ratios to the same baseline."""
    env_ratio = {r.name: r.ratio for r in results}
    base = next(r for r in results if r.kind == "baseline")
    lines = [
        "| function | kind | import ms (median) | ratio | ratio without SSM | ms over without SSM "
        "| modules | AWS requests |",
        "|---|---|--:|--:|--:|--:|--:|---|",
        f"| {base.name} | {base.kind} | {base.median_import_ms:.1f} | 1.00x | 1.00x | - | {base.modules_imported} | - |",
    ]
    for r in ssm_results:
        lines.append(
            f"| {r.name} | {r.kind} | {r.median_import_ms:.1f} | {r.ratio:.2f}x | {env_ratio[r.name]:.2f}x "
            f"| {r.extra_ms:+.1f} | {r.modules_imported} | {'; '.join(r.aws_requests)} |"
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__)
    parser.add_argument("--runs", type=positive_int, default=15, help="timed rounds per module (default 15)")
    parser.add_argument("--seed", type=int, default=0, help="seed for the per-round shuffle (default 0)")
    parser.add_argument(
        "--site",
        choices=["lambda", "venv"],
        default="lambda",
        help="lambda: only the runtime packages, as deployed (default); venv: the dev virtualenv",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions under valgrind's callgrind instead of timing (one import each)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        baseline_dir = Path(tmp)
        (baseline_dir / f"{BASELINE_MODULE}.py").write_text(BASELINE_SOURCE)
        (baseline_dir / f"{REFERENCE_MODULE}.py").write_text(REFERENCE_SOURCE)
        targets = discover_targets(baseline_dir)
        if args.instructions:
            return report_instructions(args, measure_instructions(targets, args.site, progress=not args.json))
        samples = measure(targets, args.runs, args.seed, progress=not args.json, site=args.site)
    results = summarise(targets, samples)
    ssm_results = summarise_ssm(targets, samples)
    failed = [r.name for r in results if not r.passed]
    if args.json:
        payload = {
            "runs": args.runs,
            "python": sys.version.split()[0],
            "site": args.site,
            "max_http_ratio": MAX_HTTP_RATIO,
            "passed": not failed,
            "configurations": CONFIGS,
            "results": [asdict(r) for r in results],
            "ssm_results": [asdict(r) for r in ssm_results],
        }
        print(json.dumps(payload, indent=2))
    else:
        print(
            f"Cold start ({args.site} site): median of {args.runs} fresh-interpreter imports, ratio to the baseline\n"
        )
        print(f"Without SSM ({CONFIGS['env']}); the targets apply here:\n")
        print(format_table(results))
        print()
        print(verdict(failed))
        print(f"\nDeployed ({CONFIGS['ssm']}; moto's start-up not counted); information, no target:\n")
        print(format_ssm_table(results, ssm_results))
    return 1 if args.check and failed else 0


def report_instructions(args: argparse.Namespace, results: list[InstructionResult]) -> int:
    failed = [r.name for r in results if not r.passed]
    if args.json:
        payload = {
            "python": sys.version.split()[0],
            "site": args.site,
            "measure": "instructions",
            "max_http_ratio": MAX_HTTP_RATIO,
            "passed": not failed,
            "results": [asdict(r) for r in results],
        }
        print(json.dumps(payload, indent=2))
    else:
        print(
            f"Cold start ({args.site} site): instructions of one import under callgrind, ratio to the baseline\n"
        )
        print(format_instruction_table(results))
        print()
        print(verdict(failed))
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())
