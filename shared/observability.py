"""Logger and metrics, created once per process (Powertools: JSON logs with correlation id, EMF)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "chat-widget-platform")

logger = Logger(service=SERVICE, level=os.environ.get("LOG_LEVEL", "INFO"))
metrics = Metrics(service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "ChatWidget"))
