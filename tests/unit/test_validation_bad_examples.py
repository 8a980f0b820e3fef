"""Every error code has a file in examples/bad/ that triggers exactly that code, on the right line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devhost.cli import main
from shared.settings import Settings
from shared.validation import ErrorCode, ValidationConfig, validate_path

BAD = Path(__file__).resolve().parents[2] / "examples" / "bad"
FILE_LEVEL = {
    ErrorCode.EMPTY_FILE,
    ErrorCode.TOO_FEW_EXAMPLES,
    ErrorCode.COMPRESSED_FILE,
    ErrorCode.BINARY_DATA,
    ErrorCode.FILE_TOO_LARGE,
}
LIMITS = {ErrorCode.LINE_TOO_LONG: {"max_line_bytes": 2048}, ErrorCode.FILE_TOO_LARGE: {"max_file_bytes": 4096}}


def bad_file(code: ErrorCode) -> Path:
    (found,) = [p for p in BAD.iterdir() if p.name.split(".")[0] == code.value]
    return found


def expected_line(code: ErrorCode) -> int | None:
    return None if code in FILE_LEVEL else 3


def test_every_error_code_has_exactly_one_bad_file_and_no_file_is_orphaned() -> None:
    stems = sorted(p.name.split(".")[0] for p in BAD.iterdir() if p.name != "README.md")
    assert stems == sorted(code.value for code in ErrorCode)


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.value)
def test_bad_file_reports_only_its_code_on_its_line(code: ErrorCode) -> None:
    config = ValidationConfig.from_settings(Settings()).model_copy(update=LIMITS.get(code, {}))
    report = validate_path(bad_file(code), config)
    assert not report.valid
    assert report.error_counts == {code.value: 1}
    (finding,) = report.errors
    assert (finding.code, finding.line) == (code.value, expected_line(code))
    assert finding.message


@pytest.mark.parametrize("code", list(ErrorCode), ids=lambda c: c.value)
def test_cli_exits_1_and_names_the_code_and_line(
    code: ErrorCode, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in LIMITS.get(code, {}).items():
        monkeypatch.setenv(name.upper(), str(value))
    assert main(["validate", "--json", str(bad_file(code))]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(e["code"], e["line"]) for e in report["errors"]] == [(code.value, expected_line(code))]
