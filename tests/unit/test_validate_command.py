"""`python -m devhost validate`: exit codes, JSON-only stdout, readable summary, fast start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devhost.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "xbox-support.jsonl"
BAD = ROOT / "examples" / "bad"


def devhost(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAX_", "PHI3_", "DEFAULT_"))}
    return subprocess.run(
        [sys.executable, "-m", "devhost", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_good_file_exits_0_with_only_the_report_json_on_stdout() -> None:
    done = devhost("validate", "--json", str(SAMPLE))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["valid"] is True
    assert report["stats"]["examples"] == len(SAMPLE.read_bytes().splitlines())


def test_bad_file_exits_1_with_a_readable_table_naming_code_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(BAD / "invalid_role.jsonl")]) == 1
    out = capsys.readouterr().out
    assert "INVALID" in out
    assert "invalid_role" in out
    assert "│    3 │" in out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(ROOT / "no-such-file.jsonl")]) == 2
    assert main(["validate", str(SAMPLE), "--base-model", "gpt-4"]) == 2
    assert main(["validate", str(SAMPLE), "--epochs", "0"]) == 2
    assert "unknown base model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["validate", str(SAMPLE), "--no-such-flag"])
    assert exited.value.code == 2


def test_the_command_imports_nothing_heavy() -> None:
    code = (
        "import sys; from devhost.cli import main; "
        f"rc = main(['validate', '--json', {str(SAMPLE)!r}]); "
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'azure.ai.ml') if m in sys.modules]; "
        "print(heavy, file=sys.stderr); sys.exit(3 if heavy else rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_a_validation_file_is_checked_too_and_both_reports_are_printed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", str(SAMPLE), "--validation", str(BAD / "invalid_json.jsonl")]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["valid"] is False
    assert payload["training"]["valid"] is True
    assert [e["code"] for e in payload["validation"]["errors"]] == ["invalid_json"]


def test_epochs_and_base_model_reach_the_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", str(SAMPLE), "--epochs", "5", "--base-model", "phi-3-mini-128k-instruct"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stats"]["billable_tokens"] == 5 * report["stats"]["total_tokens"]
    assert report["base_model"] == "Phi-3-mini-128k-instruct"
    assert report["context_length"] == 131072
