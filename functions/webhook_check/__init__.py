"""The webhook_check function."""
