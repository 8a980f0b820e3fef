"""Bad and good uploads together on a real `devhost up` with transient backend faults: all accounted for."""

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
    # Every distinct backend call also fails once first (429, 503 or a time-out, in turn) and is retried.
    env = devhost_env(tmp_path / "backend.pickle", 0, backend_faults="1")
    with DevhostProcess(tmp_path / "devhost", app_ref=APP_REF, env=env) as host:
        connections = host.start()
        result = flood(connections, bad + good)
        log = host.log_path.read_text(encoding="utf-8", errors="replace")
    assert result.unaccounted == {}
    assert result.accounted == 20
    assert sorted(result.outcomes.values()) == ["rejected"] * 16 + ["succeeded"] * 4
    ids = [event.id for event in result.events]
    assert len(ids) == len(set(ids))
    for kind in ("429", "503", "timeout"):
        assert f"injecting a {kind} fault" in log
