"""The analytics_rollup function."""
