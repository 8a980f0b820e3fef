"""The Bicep files of infra/, parsed offline with pycep, and small lookups the tests share."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pycep import BicepParser

REPO_ROOT = Path(__file__).resolve().parents[3]
INFRA_DIR = REPO_ROOT / "infra"
MAIN_BICEP = INFRA_DIR / "main.bicep"


@dataclass(frozen=True)
class Resource:
    """One resource declaration of a Bicep file."""

    file: Path
    symbol: str
    type: str
    api_version: str
    existing: bool
    config: dict[str, Any]
    condition: Any = None

    @property
    def properties(self) -> dict[str, Any]:
        return self.config.get("properties", {})

    def where(self) -> str:
        return f"{self.file.relative_to(REPO_ROOT)}: resource {self.symbol} ({self.type})"


def bicep_files() -> list[Path]:
    return sorted(INFRA_DIR.rglob("*.bicep"))


@cache
def parse(path: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = BicepParser().parse(file_path=path)
    return _unquote_keys(parsed)


def _unquote_keys(value: Any) -> Any:
    """pycep keeps the quotes of quoted object keys ('azd-env-name'); the tests compare bare names."""
    if isinstance(value, dict):
        return {_unquote(key): _unquote_keys(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unquote_keys(item) for item in value]
    return value


def _unquote(key: Any) -> Any:
    if isinstance(key, str) and len(key) >= 2 and key[0] == key[-1] == "'":
        return key[1:-1]
    return key


def resources(type_: str | None = None, *, include_existing: bool = False) -> Iterator[Resource]:
    """Every resource declared in infra/ (of one type if given), existing references left out by default."""
    for path in bicep_files():
        for symbol, body in parse(path).get("resources", {}).items():
            config = body["config"]
            conditional = set(config) == {"condition", "config"}
            resource = Resource(
                file=path,
                symbol=symbol,
                type=body["type"],
                api_version=body["api_version"],
                existing=body["existing"],
                config=config["config"] if conditional else config,
                condition=config["condition"] if conditional else None,
            )
            if (type_ is None or resource.type.lower() == type_.lower()) and (
                include_existing or not resource.existing
            ):
                yield resource


def one(type_: str, name: str | None = None) -> Resource:
    """The single resource of a type (with a literal name if given)."""
    found = [r for r in resources(type_) if name is None or r.config.get("name") == name]
    assert len(found) == 1, f"expected one {type_} named {name!r} in infra/, found {[r.where() for r in found]}"
    return found[0]


def variables(path: Path) -> dict[str, Any]:
    return {name: body["value"] for name, body in parse(path).get("variables", {}).items()}


def parameters(path: Path) -> dict[str, Any]:
    return dict(parse(path).get("parameters", {}))


def reference(value: Any) -> str | None:
    """`a.b.c` written as a Bicep expression, as a dotted string; None for anything else."""
    if isinstance(value, str):
        return value
    operator = value.get("operator") if isinstance(value, dict) else None
    if operator and operator.get("type") == "property_accessor":
        first = reference(operator["operands"]["operand_1"])
        second = reference(operator["operands"]["operand_2"])
        if first is not None and second is not None:
            return f"{first}.{second}"
    return None


def function_call(value: Any) -> tuple[str, dict[str, Any]] | None:
    """(function name, parameters) of a Bicep function call, else None."""
    if isinstance(value, dict) and "function" in value:
        return value["function"]["type"], value["function"]["parameters"]
    return None


def app_settings() -> dict[str, Any]:
    """The Function App's app settings (name -> value expression), from siteConfig.appSettings."""
    site = one("Microsoft.Web/sites")
    entries = site.properties["siteConfig"]["appSettings"]
    settings = {entry["name"]: entry["value"] for entry in entries}
    assert len(settings) == len(entries), f"{site.where()}: an app setting is set twice"
    return settings
