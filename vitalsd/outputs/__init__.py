"""Outputs shipped with the core (registered as entry points like any plugin)."""
