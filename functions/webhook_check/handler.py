"""webhook_check (scheduled): probe every active widget's webhook, record health, alert on change.

Not implemented yet: it arrives with the health-check and purge issue. Until then an invocation
fails loudly (and counts as a failed run) rather than pretending to have done the work.
"""

from typing import Any

from shared.startup import handler_init

with handler_init():
    from shared.jobs import JobContext, job_handler


async def run(job: JobContext) -> dict[str, Any]:
    raise NotImplementedError(
        "webhook_check is not implemented yet: it arrives with the health-check and purge issue"
    )


handler = job_handler(run, name="webhook_check")
