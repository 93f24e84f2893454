"""Lowest layer: errors, value checks, config check, run files (metrics.json, checkpoints), process settings."""
