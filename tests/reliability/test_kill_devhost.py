"""SIGKILL `devhost up` in every stage of a run and start it again: the run completes exactly once."""

from __future__ import annotations

from pathlib import Path

from tests.reliability.scenarios import KILL_STAGES, kill_in_every_stage
from tests.unit.pipeline.conftest import chat_dataset


def test_a_run_killed_in_every_stage_completes_once_with_one_job_one_deployment_and_each_event_once(
    tmp_path: Path,
) -> None:
    result = kill_in_every_stage(tmp_path, [("xbox/killed.jsonl", chat_dataset(24))])
    assert result.stages_killed == list(KILL_STAGES)
    assert result.kills == len(KILL_STAGES)
    assert result.problems() == []
    assert result.runs_completed == 1
    assert result.duplicates == 0
    assert result.lost_events == 0
    assert len(result.storage_accounts) == 1, "blob URLs stored before a restart still resolve after it"
    # Azurite, the broker, the management API, the HTTP API and the dashboard: on loopback only.
    assert len(result.listening) >= 5
    assert set(result.listening) == {"127.0.0.1"}, result.listening
