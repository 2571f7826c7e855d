"""Feature package `api`."""
