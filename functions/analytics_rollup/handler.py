"""analytics_rollup (scheduled): upsert daily analytics for today and yesterday.

Not implemented yet; a later issue builds it. Until then an invocation fails loudly rather than
pretending to have done the work.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raise NotImplementedError("analytics_rollup is not implemented yet")
