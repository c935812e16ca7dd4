"""`scripts/create_user.py`: the first admin of a deployment, or any user, from a shell; and the dev
seed making its admin through it."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from scripts.create_user import UsageError, ask_password
from scripts.seed import ADMIN_EMAIL, seed
from shared.db import Database
from shared.services.auth import verify_password
from tests.factories import make_client

PASSWORD = "a long enough passphrase"


def create_user(repo_root: Path, db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the script as an operator would, on the test database, with no terminal."""
    return subprocess.run(
        [sys.executable, "-m", "scripts.create_user", *args],
        cwd=repo_root,
        env={**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def stored(db_url: str, email: str) -> list[tuple[str, str, object, str]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT email, role, client_id, password_hash FROM users WHERE email = %s", (email,)
        ).fetchall()


def test_creates_an_admin_with_the_given_password(repo_root: Path, db_url: str) -> None:
    # When an operator creates an admin with a password
    done = create_user(
        repo_root, db_url, "--email", "Boss@Agency.Test", "--role", "admin", "--password", PASSWORD
    )

    # Then it exists with that password, which is never printed
    assert done.returncode == 0, done.stderr
    assert "created admin boss@agency.test" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    [(email, role, client_id, password_hash)] = stored(db_url, "boss@agency.test")
    assert (email, role, client_id) == ("boss@agency.test", "admin", None)
    assert verify_password(PASSWORD, password_hash)


def test_without_a_password_or_terminal_generates_one_and_prints_it_once(
    repo_root: Path, db_url: str
) -> None:
    done = create_user(repo_root, db_url, "--email", "boss@agency.test", "--role", "admin")
    assert done.returncode == 0, done.stderr
    printed = re.findall(r"password: (\S+)", done.stdout)
    assert len(printed) == 1
    assert done.stdout.count(printed[0]) == 1
    [(*_, password_hash)] = stored(db_url, "boss@agency.test")
    assert verify_password(printed[0], password_hash)


@pytest.mark.anyio
async def test_creates_a_client_viewer(repo_root: Path, db_url: str, db: Database) -> None:
    client = await make_client(db)
    done = create_user(
        repo_root, db_url, "--email", "v@client.test", "--role", "client", "--client-id", str(client.id)
    )
    assert done.returncode == 0, done.stderr
    [(_, role, client_id, _)] = stored(db_url, "v@client.test")
    assert (role, client_id) == ("client", client.id)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--role", "client", "--client-id", "UNKNOWN"], "there is no client UNKNOWN"),
        (["--role", "admin", "--password", "short"], "at least 12 characters"),
        (["--role", "client"], "a client viewer needs a client_id"),
        (["--role", "admin", "--client-id", "UNKNOWN"], "an admin belongs to no client"),
    ],
)
def test_refuses_with_a_clear_reason(repo_root: Path, db_url: str, args: list[str], reason: str) -> None:
    unknown = str(uuid4())
    args = [unknown if a == "UNKNOWN" else a for a in args]
    done = create_user(repo_root, db_url, "--email", "v@client.test", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert reason.replace("UNKNOWN", unknown) in done.stderr
    assert stored(db_url, "v@client.test") == []


def test_an_email_that_exists_is_refused(repo_root: Path, db_url: str) -> None:
    first = create_user(
        repo_root, db_url, "--email", "boss@agency.test", "--role", "admin", "--password", PASSWORD
    )
    assert first.returncode == 0, first.stderr
    again = create_user(
        repo_root,
        db_url,
        "--email",
        "BOSS@agency.test",
        "--role",
        "admin",
        "--password",
        "another passphrase",
    )
    assert again.returncode == 2
    assert "boss@agency.test already exists" in again.stderr
    [(*_, password_hash)] = stored(db_url, "boss@agency.test")
    assert verify_password(PASSWORD, password_hash)


def test_in_a_terminal_it_asks_for_the_password_twice(repo_root: Path, db_url: str) -> None:
    # Given the script run in a terminal without --password
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the script, with the pseudo-terminal as its controlling terminal
        try:
            os.chdir(repo_root)
            args = ["-m", "scripts.create_user", "--email", "boss@agency.test", "--role", "admin"]
            env = {**os.environ, "DATABASE_URL": db_url}
            os.execve(sys.executable, [sys.executable, *args], env)  # noqa: S606  # our interpreter
        finally:
            os._exit(127)  # never back into pytest
    screen = ""

    def read_until(text: str) -> None:
        nonlocal screen
        deadline = time.monotonic() + 30
        while text not in screen:
            assert time.monotonic() < deadline, screen
            if select.select([terminal], [], [], 0.5)[0]:
                try:
                    screen += os.read(terminal, 1024).decode()
                except OSError:  # the child closed the terminal
                    break
        assert text in screen, screen

    try:
        # When the operator types the password twice
        read_until("Password")
        os.write(terminal, f"{PASSWORD}\n".encode())
        read_until("again")
        os.write(terminal, f"{PASSWORD}\n".encode())
        read_until("created admin")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(terminal)

    # Then the admin has it, and it was neither echoed nor printed
    assert os.waitstatus_to_exitcode(status) == 0, screen
    assert PASSWORD not in screen
    [(*_, password_hash)] = stored(db_url, "boss@agency.test")
    assert verify_password(PASSWORD, password_hash)


def test_the_prompt_asks_twice() -> None:
    answers = iter([PASSWORD, PASSWORD])
    assert ask_password(lambda _: next(answers)) == PASSWORD
    answers = iter([PASSWORD, "something else"])
    with pytest.raises(UsageError, match="differ"):
        ask_password(lambda _: next(answers))
    assert ask_password(lambda _: "") is None  # empty: generate one


@pytest.mark.anyio
async def test_the_seed_makes_its_admin_once_through_create_user(db_url: str) -> None:
    # When the dev database is seeded twice
    first = await seed(db_url, base_url="http://platform.test")
    second = await seed(db_url, base_url="http://platform.test")

    # Then the admin is made once, and its generated password shown the first time only
    assert first.admin_password is not None and second.admin_password is None
    [(_, role, _, password_hash)] = stored(db_url, ADMIN_EMAIL)
    assert role == "admin"
    assert verify_password(first.admin_password, password_hash)
