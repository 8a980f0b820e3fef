"""Test session setup: fixture plugins that start the local servers once per session."""

from __future__ import annotations

pytest_plugins: list[str] = [
    "tests.fixtures.azurite",
    "tests.fixtures.broker",
    "tests.fixtures.dashboard",
    "tests.fixtures.engine",
    "tests.fixtures.local_foundry",
]
