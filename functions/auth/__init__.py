"""The auth function."""
