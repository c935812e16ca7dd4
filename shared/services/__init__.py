"""Business logic: relay, webhook health, rollups, purge, auth."""
