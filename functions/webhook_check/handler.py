"""webhook_check (scheduled): probe every active widget's webhook, record health, alert on change.

Not implemented yet; a later issue builds it. Until then an invocation fails loudly rather than
pretending to have done the work.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    raise NotImplementedError("webhook_check is not implemented yet")
