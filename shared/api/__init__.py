"""HTTP routes, one module per resource; functions include the routers they serve.

Importing this package, before any route is declared, is also where the two workarounds for FastAPI
(0.163) and pydantic (2.13) live:
- FastAPI checks every route parameter and response model against `pydantic.v1.BaseModel`,
  importing `pydantic.v1` (28 modules and `pickle`, 4-7 % of a function's cold start) to do so. No
  class can derive from `pydantic.v1.BaseModel` before `pydantic.v1` is imported, so while it is not,
  the answer is False without the import; once anything imports it, FastAPI's own check runs.
- A false-positive pydantic warning on FastAPI's request bodies is silenced (below).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

from fastapi import encoders
from fastapi._compat import shared as _fastapi_compat
from pydantic.warnings import UnsupportedFieldAttributeWarning


def _unless_unimported(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def pydantic_v1_check(obj: Any) -> bool:
        return "pydantic.v1" in sys.modules and check(obj)

    return pydantic_v1_check


# Where FastAPI looks them up: the class check from its annotation check (same module), the instance
# check from `jsonable_encoder` (imported by name). Absent in a later FastAPI: nothing to do.
for _module, _name in (
    (_fastapi_compat, "is_pydantic_v1_model_class"),
    (_fastapi_compat, "is_pydantic_v1_model_instance"),
    (encoders, "is_pydantic_v1_model_instance"),
):
    if hasattr(_module, _name):
        setattr(_module, _name, _unless_unimported(getattr(_module, _name)))

# FastAPI validates a request body through `TypeAdapter(Annotated[Model, Body(alias=<parameter>)])`.
# When the model's schema is deferred (`defer_build`, for cold starts), pydantic >= 2.12 builds it at
# the first request and warns that the alias "has no effect" there, though FastAPI reads the alias
# itself (a false positive: pydantic/pydantic#12356). One line per body route and process otherwise.
warnings.filterwarnings(
    "ignore",
    message=r"The '(validation_|serialization_)?alias' attribute with value '\w+' was provided to the `Field\(\)`",
    category=UnsupportedFieldAttributeWarning,
)
