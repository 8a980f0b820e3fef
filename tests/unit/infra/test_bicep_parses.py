"""Every Bicep file parses offline, and every module is a local file (registry modules would hide resources)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.infra.bicep import INFRA_DIR, MAIN_BICEP, REPO_ROOT, bicep_files, parse


def test_infra_has_main_and_its_modules() -> None:
    names = {path.relative_to(INFRA_DIR).as_posix() for path in bicep_files()}
    assert "main.bicep" in names
    assert {"modules/storage.bicep", "modules/servicebus.bicep", "modules/functionapp.bicep"} <= names


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_bicep_file_parses_with_pycep(path: Path) -> None:
    parsed = parse(path)
    assert parsed.get("resources") or parsed.get("modules"), f"{path}: parsed, but declares nothing"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_modules_are_local_files_that_exist(path: Path) -> None:
    for symbol, module in parse(path).get("modules", {}).items():
        assert module["type"] == "local", f"{path}: module {symbol} is not a local file: {module['detail']}"
        target = path.parent / module["detail"]["path"]
        assert target.is_file(), f"{path}: module {symbol} points at {target}, which does not exist"


def test_every_module_file_is_deployed_by_main_or_by_the_postdeploy_hook() -> None:
    used = {
        (MAIN_BICEP.parent / module["detail"]["path"]).resolve()
        for module in parse(MAIN_BICEP).get("modules", {}).values()
    }
    hook = (INFRA_DIR / "hooks" / "postdeploy.sh").read_text()
    for path in bicep_files():
        if path == MAIN_BICEP or path.resolve() in used:
            continue
        assert path.relative_to(REPO_ROOT).as_posix() in hook, (
            f"{path} is neither a module of main.bicep nor deployed by the hook"
        )


def test_main_deploys_at_subscription_scope_for_azd() -> None:
    assert parse(MAIN_BICEP)["globals"]["scope"]["value"] == "subscription"
