"""demo_purge (scheduled, hourly): delete expired demo widgets, chat logs past their widget's
retention, old webhook errors and ended rate-limit windows (shared/services/purge.py)."""

from shared.startup import handler_init

with handler_init():
    from shared.jobs import job_handler
    from shared.services.purge import run_purge

handler = job_handler(run_purge, name="demo_purge")
