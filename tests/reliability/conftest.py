"""The reliability tier: the pipeline-on-fakes world (virtual clock) and bad-file generators."""

from __future__ import annotations

import pytest

from tests.unit.pipeline.conftest import engine_clock, live_host, live_world, world, world_settings

__all__ = ["engine_clock", "live_host", "live_world", "world", "world_settings"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/reliability carries the `reliability` marker."""
    for item in items:
        if "tests/reliability/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.reliability)
