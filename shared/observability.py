"""Logger and metrics, created once per process (Powertools: JSON logs with correlation id, EMF)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "chat-widget-platform")

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))
metrics = Metrics(service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ChatWidget"))

# Metrics are recorded only where Powertools publishes them (not with POWERTOOLS_METRICS_DISABLED,
# nor in POWERTOOLS_DEV mode: the dev runner). Recording one value costs ~40 µs (unit and resolution
# checks, and a debug message formatting all the values so far), and a process that never flushes
# them, like the dev runner, would pay that on every message for nothing.
METRICS_PUBLISHED = not is_metrics_disabled()


def add_metric(name: str, unit: MetricUnit, value: float) -> None:
    """One value of a metric, flushed with the invocation's others (where metrics are published)."""
    if METRICS_PUBLISHED:
        metrics.add_metric(name=name, unit=unit, value=value)


def add_error_count(name: str, value: int, *, error_type: str) -> None:
    """A count with its own `ErrorType` dimension: its own EMF record, written at once (where metrics
    are published)."""
    if not METRICS_PUBLISHED:
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=metrics.namespace,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="ErrorType", value=error_type)
