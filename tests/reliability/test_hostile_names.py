"""Hostile blob names reaching the blob trigger: refused or sanitised, with a clear log line, nothing lost."""

from __future__ import annotations

import logging
import time
import unicodedata

import pytest

from devhost.engine import InstanceStatus, RuntimeStatus
from devhost.functions_host import FunctionsHost
from shared.names import TRAINING_CONTAINER
from tests.unit.pipeline.conftest import World, chat_dataset

REFUSED = [
    "team/../../etc/passwd.jsonl",
    "./hidden.jsonl",
    "team/line\nbreak.jsonl",
    "team/fake\r\nINFO forged log line.jsonl",
    "team/nul\x00byte.jsonl",
    "team/escape\x1b[31mred.jsonl",
    "team\\windows\\path.jsonl",
    "x" * 1100 + ".jsonl",
]
SKIPPED = ["team/notes.txt", "team/data.jsonl.exe", "team/bell\x07.csv", "team/archive.JSONL.zip"]


def _upload_and_trigger(world: World, host: FunctionsHost, name: str) -> None:
    world.upload(name, chat_dataset())
    host.on_blob(world.store, world.store.get_info(TRAINING_CONTAINER, name))


def _wait_until_ended(world: World, run_id: str) -> InstanceStatus:
    for _ in range(2400):
        status = world.engine.get_status(run_id)
        if status is not None and status.is_terminal:
            return status
        time.sleep(0.05)
    raise AssertionError(f"{run_id} did not end")


def _has_control_characters(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


@pytest.mark.parametrize("name", REFUSED + SKIPPED, ids=lambda name: repr(name)[:40])
def test_a_hostile_name_starts_no_run_logs_one_clean_line_and_keeps_the_blob(
    live_world: World, live_host: FunctionsHost, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="triggers")
    caplog.set_level(logging.INFO, logger="shared")
    _upload_and_trigger(live_world, live_host, name)
    assert live_world.engine.query() == []
    assert live_world.publisher.events == []
    lines = [record.getMessage() for record in caplog.records if record.name.startswith(("triggers", "shared"))]
    assert lines, "the refusal is logged"
    assert not any(_has_control_characters(line) for line in lines), lines
    expected = "only .jsonl files" if name in SKIPPED else "refused"
    assert any(expected in line for line in lines), lines
    assert live_world.store.read_bytes(TRAINING_CONTAINER, name)[0] == chat_dataset()


def test_a_long_but_legal_name_is_sanitised_into_a_short_run_id_and_runs(
    live_world: World, live_host: FunctionsHost
) -> None:
    name = "team/" + "very-long-name-" * 66 + ".jsonl"
    assert 990 < len(name) <= 1024
    _upload_and_trigger(live_world, live_host, name)
    [status] = live_world.engine.query()
    assert len(status.instance_id) <= 60
    assert all(ch.isalnum() or ch == "-" for ch in status.instance_id)
    done = _wait_until_ended(live_world, status.instance_id)
    assert done.runtime_status is RuntimeStatus.COMPLETED
    assert done.output["outcome"] == "succeeded", done.output
    assert live_world.store.get_tags(TRAINING_CONTAINER, name)["ft_status"] == "succeeded"
