"""The demo_purge function."""
