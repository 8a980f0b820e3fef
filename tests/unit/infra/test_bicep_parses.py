"""Every Bicep file parses offline, and every module is a local file (registry modules would hide resources)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pycep.models import BicepElement

from tests.unit.infra.bicep import INFRA_DIR, MAIN_BICEP, REPO_ROOT, bicep_files, parse, reference


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


def _module_references(value: object) -> set[tuple[str, str]]:
    """(module symbol, output name) of every `<module>.outputs.<name>` in a parsed value."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        operator = value.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "property_accessor":
            chain = reference(value)
            if chain and chain.count(".") == 2 and chain.split(".")[1] == "outputs":
                module, _, output = chain.split(".")
                found.add((module, output))
        for item in value.values():
            found |= _module_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _module_references(item)
    elif isinstance(value, str):
        found |= set(re.findall(r"\$\{(\w+)\.outputs\.(\w+)\}", value))
    return found


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_module_calls_pass_declared_parameters_and_every_required_one(path: Path) -> None:
    for symbol, module in parse(path).get("modules", {}).items():
        declared = parse(path.parent / module["detail"]["path"]).get("parameters", {})
        passed = set(module["config"].get("params", {}))
        assert passed <= set(declared), f"{path}: module {symbol} passes undeclared {sorted(passed - set(declared))}"
        required = {name for name, spec in declared.items() if spec["default"] is None}
        assert required <= passed, f"{path}: module {symbol} misses required {sorted(required - passed)}"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_module_outputs_read_by_a_file_exist(path: Path) -> None:
    parsed = parse(path)
    modules = parsed.get("modules", {})
    for module, output in _module_references(parsed):
        assert module in modules, f"{path}: {module}.outputs.{output} reads an unknown module"
        outputs = parse(path.parent / modules[module]["detail"]["path"]).get("outputs", {})
        assert output in outputs, f"{path}: {module}.outputs.{output} is not an output of {modules[module]['detail']}"


_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_IDENTIFIER = re.compile(r"(?<![\w.'])([A-Za-z_]\w*)(?!\s*\()")


def _symbols_used(value: object) -> set[str]:
    """Symbols a parsed value refers to: bare identifiers, the head of `a.b.c`, identifiers in `${...}`."""
    if isinstance(value, BicepElement):
        return {str(value)}
    if isinstance(value, str):
        used: set[str] = set()
        for expression in _INTERPOLATION.findall(value):
            used |= set(_IDENTIFIER.findall(re.sub(r"'[^']*'", "''", expression)))
        return used
    if isinstance(value, dict):
        operator = value.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "property_accessor":
            return _symbols_used(operator["operands"]["operand_1"])
        return set().union(*(_symbols_used(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_symbols_used(item) for item in value))
    return set()


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_symbol_a_file_uses_is_declared_in_it(path: Path) -> None:
    parsed = parse(path)
    declared = {name for kind in ("parameters", "variables", "resources", "modules") for name in parsed.get(kind, {})}
    used = _symbols_used(
        {kind: parsed.get(kind, {}) for kind in ("parameters", "variables", "resources", "modules", "outputs")}
    )
    assert used, f"{path}: no reference found at all (the walk is broken)"
    assert used <= declared, f"{path}: refers to undeclared {sorted(used - declared)}"


@pytest.mark.parametrize("path", bicep_files(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_every_parameter_and_variable_is_used(path: Path) -> None:
    parsed = parse(path)
    used = _symbols_used({kind: parsed.get(kind, {}) for kind in ("variables", "resources", "modules", "outputs")})
    unused = {name for kind in ("parameters", "variables") for name in parsed.get(kind, {})} - used
    assert not unused, f"{path}: declares {sorted(unused)} but never uses them"
