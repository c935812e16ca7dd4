"""Handler start-up runs without garbage collection, then freezes what it made."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.startup import SERVER_GEN0_THRESHOLD, handler_init, tune_collector_for_serving

ROOT = Path(__file__).resolve().parents[2]
HTTP_FUNCTIONS = ("widget_config", "chat", "auth", "admin", "analytics")


@pytest.fixture(autouse=True)
def _restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.enable()
    gc.set_threshold(*threshold)


def test_collection_is_off_during_start_up_and_on_after_with_the_start_up_objects_frozen() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    with handler_init():
        assert not gc.isenabled()
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0


def test_collection_is_back_on_when_start_up_fails() -> None:
    with pytest.raises(RuntimeError), handler_init():
        raise RuntimeError("bad configuration")
    assert gc.isenabled()


def test_a_serving_process_freezes_its_start_up_and_collects_the_young_generation_less_often() -> None:
    gc.unfreeze()
    _, middle, oldest = gc.get_threshold()
    tune_collector_for_serving()
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == (SERVER_GEN0_THRESHOLD, middle, oldest)
    assert gc.isenabled()  # cyclic garbage is still collected


@pytest.mark.parametrize("name", HTTP_FUNCTIONS)
def test_an_http_function_starts_without_importing_pydantic_v1(name: str) -> None:
    # Given a fresh interpreter configured as the function's Lambda is
    env = {**os.environ, "DATABASE_URL": "postgresql://u@localhost/db", "ENVIRONMENT": "development"}
    probe = (
        f"import sys, functions.{name}.handler as m; print('pydantic.v1' in sys.modules, callable(m.handler))"
    )

    # When it imports the function's handler module (every route analysed by FastAPI)
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    # Then FastAPI did not import pydantic.v1 (a cold start's 28 modules) to rule out v1 models
    assert result.stdout.split() == ["False", "True"], result.stderr


def test_fastapi_still_recognises_a_pydantic_v1_model_once_pydantic_v1_is_imported() -> None:
    # Given the routes package imported, then pydantic.v1 and a model of it
    import warnings

    from fastapi._compat import shared as fastapi_compat

    import shared.api  # noqa: F401

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydantic import v1

    class Legacy(v1.BaseModel):
        name: str

    # Then FastAPI's own checks answer as without the routes package
    assert fastapi_compat.is_pydantic_v1_model_class(Legacy)
    assert fastapi_compat.is_pydantic_v1_model_instance(Legacy(name="x"))
    assert fastapi_compat.annotation_is_pydantic_v1(list[Legacy])
    assert not fastapi_compat.is_pydantic_v1_model_class(int)
