"""analytics_rollup (scheduled, every 15 minutes): upsert daily analytics for today and yesterday
(UTC); `{"since": "YYYY-MM-DD"}` backfills from that day on (`scripts/invoke.py --since`)."""

from shared.startup import handler_init

with handler_init():
    from shared.jobs import job_handler
    from shared.services.rollup import run_rollup

run = run_rollup
handler = job_handler(run, name="analytics_rollup")
