"""webhook_check (scheduled, hourly): probe every active widget's webhook, record its health, and
alert once per transition (shared/services/health_check.py)."""

from shared.startup import handler_init

with handler_init():
    from shared.jobs import job_handler
    from shared.services.health_check import run_webhook_check

handler = job_handler(run_webhook_check, name="webhook_check")
