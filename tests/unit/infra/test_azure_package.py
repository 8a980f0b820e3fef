"""What `azd deploy` ships runs in Azure: every module the Functions app imports (at import time or later)
is in the package (not left out by .funcignore), and every third-party module it imports is installed there,
i.e. comes with a distribution that requirements.txt pins or pulls in. Static: nothing is imported."""

from __future__ import annotations

import ast
import fnmatch
import re
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

from tests.unit.infra.bicep import REPO_ROOT

FIRST_PARTY = {"function_app", "orchestrations", "shared", "triggers", "devhost", "tests", "benchmarks"}


def _module_file(dotted: str) -> Path | None:
    path = REPO_ROOT.joinpath(*dotted.split("."))
    for candidate in (path / "__init__.py", path.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports(module: str, file: Path) -> set[str]:
    """Every module name imported anywhere in a file (lazy imports too: they run in Azure as well)."""
    package = module.split(".") if file.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = (
                ".".join([*package[: len(package) - node.level + 1], node.module or ""]).strip(".")
                if node.level
                else node.module or ""
            )
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


@cache
def _reachable() -> tuple[dict[str, Path], dict[str, set[str]]]:
    """First-party modules reachable from function_app (name -> file) and third-party imports (name -> importers)."""
    first: dict[str, Path] = {}
    third: dict[str, set[str]] = {}
    todo = ["function_app"]
    while todo:
        module = todo.pop()
        file = _module_file(module)
        if module in first or file is None:
            continue
        first[module] = file
        for name in _imports(module, file):
            top = name.split(".")[0]
            if top in FIRST_PARTY:
                todo.append(name)
            elif top not in sys.stdlib_module_names:
                third.setdefault(name, set()).add(module)
    return first, third


def _excluded_by_funcignore(path: Path) -> str | None:
    relative = path.relative_to(REPO_ROOT).as_posix()
    parts = relative.split("/")
    for line in (REPO_ROOT / ".funcignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        directory = pattern.endswith("/")
        pattern = pattern.rstrip("/")
        candidates = parts[:-1] if directory else parts
        if any(fnmatch.fnmatch(part, pattern) for part in candidates) or fnmatch.fnmatch(relative, pattern):
            return line
    return None


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def _installed_in_azure() -> frozenset[str]:
    """requirements.txt's pins and, recursively, what they require (extras left out)."""
    names = {
        _normalise(match.group(0))
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if (match := re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*", line.strip()))
    }
    todo = list(names)
    while todo:
        try:
            requires = metadata.requires(todo.pop()) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement:
                continue
            name = _normalise(re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*", requirement).group(0))  # type: ignore[union-attr]
            if name not in names:
                names.add(name)
                todo.append(name)
    return frozenset(names)


@cache
def _importable_paths(distribution: str) -> frozenset[str]:
    """Packages (`a/b/`) and modules (`a/b/c`) a distribution installed, as paths without suffix."""
    paths: set[str] = set()
    for file in metadata.distribution(distribution).files or ():
        parts = str(file).split("/")
        paths |= {"/".join(parts[:depth]) + "/" for depth in range(1, len(parts))}
        paths.add("/".join([*parts[:-1], parts[-1].split(".")[0]]))
    return frozenset(paths)


@cache
def _top_level_distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


def _distribution_of(dotted: str) -> str | None:
    """The distribution that installed a module, from the distributions' file lists (nothing is imported)."""
    candidates = _top_level_distributions().get(dotted.partition(".")[0], [])
    parts = dotted.split(".")
    while parts:
        path = "/".join(parts)
        for name in candidates:
            if f"{path}/" in _importable_paths(name) or path in _importable_paths(name):
                return _normalise(name)
        parts = parts[:-1]
    return None


def test_the_app_is_found_and_reaches_its_packages() -> None:
    first, third = _reachable()
    assert "function_app" in first
    assert any(name.startswith("azure.") for name in third)


def test_every_module_the_app_imports_is_deployed() -> None:
    first, _ = _reachable()
    excluded = {module: rule for module, file in first.items() if (rule := _excluded_by_funcignore(file))}
    assert not excluded, f"the app imports modules that .funcignore leaves out of the Azure package: {excluded}"


def test_every_third_party_module_the_app_imports_is_installed_by_requirements_txt() -> None:
    _, third = _reachable()
    installed = _installed_in_azure()
    missing = {}
    for name, importers in sorted(third.items()):
        distribution = _distribution_of(name)
        if distribution is None or distribution not in installed:
            missing[name] = (distribution, sorted(importers))
    assert not missing, (
        f"imported by the app but not installed in Azure (pin the distribution in requirements.txt, "
        f"or move the import out of the app): {missing}"
    )


def test_the_checks_see_a_module_left_out_and_a_devhost_only_dependency() -> None:
    assert _excluded_by_funcignore(REPO_ROOT / "devhost" / "cli.py") == "devhost/"
    assert _distribution_of("torch") not in _installed_in_azure()
    assert _distribution_of("azure.durable_functions") in _installed_in_azure()
