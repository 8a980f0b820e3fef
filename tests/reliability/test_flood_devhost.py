"""Bad and good uploads together on a real `devhost up`: every upload accounted for, the good ones succeed."""

from __future__ import annotations

from pathlib import Path

from devhost.process import DevhostProcess
from tests.reliability.bad_files import bad_file
from tests.reliability.scenarios import APP_REF, devhost_env, flood
from tests.unit.pipeline.conftest import chat_dataset


def test_bad_and_good_uploads_at_once_are_each_accounted_for(tmp_path: Path) -> None:
    bad = [
        (f"flood/{n:03d}-{kind}.jsonl", data, "rejected") for n, (kind, data) in ((n, bad_file(n)) for n in range(16))
    ]
    good = [(f"team{n}/good.jsonl", chat_dataset(20 + n), "succeeded") for n in range(4)]
    with DevhostProcess(tmp_path / "devhost", app_ref=APP_REF, env=devhost_env(tmp_path / "backend.pickle", 0)) as host:
        connections = host.start()
        result = flood(connections, bad + good)
    assert result.unaccounted == {}
    assert result.accounted == 20
    assert sorted(result.outcomes.values()) == ["rejected"] * 16 + ["succeeded"] * 4
    ids = [event.id for event in result.events]
    assert len(ids) == len(set(ids))
