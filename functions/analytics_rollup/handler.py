"""analytics_rollup (scheduled): upsert daily analytics for today and yesterday.

Not implemented yet: it arrives with the analytics issue. Until then an invocation fails loudly (and
counts as a failed run) rather than pretending to have done the work.
"""

from typing import Any

from shared.startup import handler_init

with handler_init():
    from shared.jobs import JobContext, job_handler


async def run(job: JobContext) -> dict[str, Any]:
    raise NotImplementedError("analytics_rollup is not implemented yet: it arrives with the analytics issue")


handler = job_handler(run, name="analytics_rollup")
