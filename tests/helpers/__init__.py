"""Reusable test clients and helpers (import as ``helpers.<module>``)."""

from __future__ import annotations

from collections.abc import Callable

from emulator.server import Emulator

# The ``emulator_factory`` fixture: start(state_dir=None, stream=None, token_lifetime_s=7200.0,
# **EmulatorSettings fields) -> a started Emulator, stopped at teardown.
EmulatorFactory = Callable[..., Emulator]
