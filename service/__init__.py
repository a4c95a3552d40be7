"""Composition root: CLI, configuration, wiring, logging, Sentry, metrics, sd_notify."""
