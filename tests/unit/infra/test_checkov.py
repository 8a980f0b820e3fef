"""The policy scan: `CKV_PARSE_ERROR_FAIL=true checkov -d infra --framework bicep --skip-download` finds no
failed check and no parse error. checkov lives in its own virtualenv (.venv-checkov, made by `make setup`
from requirements-checkov.txt) because its dependencies conflict with the service's pins; CHECKOV may name
another checkov executable. Skipped checks are listed, each with its reason, in .checkov.yaml."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.bicep import REPO_ROOT

CHECKOV = Path(os.environ.get("CHECKOV", REPO_ROOT / ".venv-checkov" / "bin" / "checkov"))
CONFIG = REPO_ROOT / ".checkov.yaml"


@pytest.fixture(scope="module")
def scan() -> dict[str, Any]:
    assert CHECKOV.is_file(), (
        f"{CHECKOV} is missing: run `make setup` (it builds .venv-checkov from requirements-checkov.txt)"
    )
    env = {**os.environ, "CKV_PARSE_ERROR_FAIL": "true"}
    completed = subprocess.run(
        [str(CHECKOV), "-d", "infra", "--framework", "bicep", "--skip-download", "--output", "json"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.stdout.strip(), (
        f"checkov printed nothing (exit {completed.returncode}): {completed.stderr[-2000:]}"
    )
    report = json.loads(completed.stdout)
    report = report[0] if isinstance(report, list) else report
    report["exit_code"] = completed.returncode
    return report


def test_checkov_finds_no_failed_check_and_no_parse_error(scan: dict[str, Any]) -> None:
    failed = [
        f"{check['check_id']} {check['check_name']}: {check['resource']} in {check['file_path']}"
        for check in scan.get("results", {}).get("failed_checks", [])
    ]
    assert failed == []
    assert scan["summary"]["parsing_errors"] == 0
    assert scan["exit_code"] == 0


def test_checkov_scanned_every_resource_and_ran_real_checks(scan: dict[str, Any]) -> None:
    assert scan["check_type"] == "bicep"
    assert scan["summary"]["passed"] >= 25
    scanned = {check["file_path"] for check in scan["results"]["passed_checks"]}
    assert {"/modules/storage.bicep", "/modules/foundry.bicep", "/modules/functionapp.bicep"} <= scanned


def test_every_skipped_check_has_its_reason_on_the_line_above() -> None:
    lines = CONFIG.read_text().splitlines()
    skips = [(n, line) for n, line in enumerate(lines) if re.match(r"^\s*-\s*CKV", line)]
    assert skips, ".checkov.yaml skips nothing: then delete its skip-check list"
    for n, line in skips:
        reason = lines[n - 1].strip()
        assert re.match(r"^#\s*\S.{20,}", reason), f".checkov.yaml: {line.strip()} has no reason comment above it"
