"""Matching request paths against the app's HTTP route templates, as the Functions host does.

Templates follow ASP.NET routing, the subset Functions apps use: literal segments (case-insensitive),
`{name}`, `{name?}` (optional, trailing), `{name:int}`-style constraints (`int`, `long`, `bool`, `guid`,
`alpha`, `double`) and a trailing catch-all `{*name}`. When several templates match, the most specific one
wins: literals beat parameters, constrained parameters beat plain ones, a catch-all comes last.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import unquote

from shared.errors import ConfigurationError

T = TypeVar("T")

_PARAMETER = re.compile(r"^\{(?P<star>\*)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::(?P<constraint>[a-z]+))?(?P<opt>\?)?\}$")


def _is_int(text: str) -> bool:
    return re.fullmatch(r"-?[0-9]+", text) is not None


def _is_double(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _is_guid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


_CONSTRAINTS: dict[str, Callable[[str], bool]] = {
    "int": _is_int,
    "long": _is_int,
    "bool": lambda text: text.lower() in {"true", "false"},
    "guid": _is_guid,
    "alpha": lambda text: text.isascii() and text.isalpha(),
    "double": _is_double,
}


@dataclass(frozen=True)
class _Segment:
    literal: str | None = None
    name: str | None = None
    constraint: str | None = None
    optional: bool = False
    catch_all: bool = False

    def precedence(self) -> int:
        if self.literal is not None:
            return 0
        if self.catch_all:
            return 4
        if self.optional:
            return 3
        return 1 if self.constraint else 2


@dataclass(frozen=True)
class RouteTemplate:
    """A parsed route template (`runs/{runId}/{command}`)."""

    template: str
    segments: tuple[_Segment, ...]

    @classmethod
    def parse(cls, template: str) -> RouteTemplate:
        """Parse a template; a malformed one raises `ConfigurationError` naming it."""
        text = template.strip("/")
        segments: list[_Segment] = []
        parts = text.split("/") if text else []
        for index, part in enumerate(parts):
            if "{" not in part and "}" not in part:
                if not part:
                    raise ConfigurationError(f"route {template!r}: empty segment")
                segments.append(_Segment(literal=part.lower()))
                continue
            match = _PARAMETER.match(part)
            if match is None:
                raise ConfigurationError(f"route {template!r}: segment {part!r} is not a literal or a {{parameter}}")
            constraint = match.group("constraint")
            if constraint and constraint not in _CONSTRAINTS:
                raise ConfigurationError(f"route {template!r}: unknown constraint {constraint!r}")
            segment = _Segment(
                name=match.group("name"),
                constraint=constraint,
                optional=match.group("opt") is not None,
                catch_all=match.group("star") is not None,
            )
            if (segment.optional or segment.catch_all) and index != len(parts) - 1:
                raise ConfigurationError(f"route {template!r}: only the last segment may be optional or catch-all")
            segments.append(segment)
        names = [s.name for s in segments if s.name]
        if len(names) != len(set(names)):
            raise ConfigurationError(f"route {template!r}: a parameter name is used twice")
        return cls(template=text, segments=tuple(segments))

    def precedence(self) -> tuple[int, ...]:
        """Sort key: smaller is more specific."""
        return (*(s.precedence() for s in self.segments), 5)

    def match(self, path: str) -> dict[str, str] | None:
        """The route parameters if `path` (below `/api/`, still URL-encoded) matches, else None."""
        raw_parts = path.strip("/").split("/") if path.strip("/") else []
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.catch_all:
                rest = "/".join(unquote(p) for p in raw_parts[index:])
                if rest:
                    params[str(segment.name)] = rest
                return params
            if index >= len(raw_parts):
                return params if segment.optional and index == len(self.segments) - 1 else None
            value = unquote(raw_parts[index])
            if segment.literal is not None:
                if value.lower() != segment.literal:
                    return None
                continue
            if not value:
                return None
            if segment.constraint and not _CONSTRAINTS[segment.constraint](value):
                return None
            params[str(segment.name)] = value
        return params if len(raw_parts) == len(self.segments) else None


@dataclass(frozen=True)
class RouteMatch(Generic[T]):
    """The outcome of routing a request: the target and its parameters, or why there is none."""

    target: T | None
    route_params: dict[str, str]
    allowed_methods: tuple[str, ...] = ()

    @property
    def method_not_allowed(self) -> bool:
        """A template matched the path but none of its functions accepts the method."""
        return self.target is None and bool(self.allowed_methods)


class RouteTable(Generic[T]):
    """Route templates with their methods and targets, matched most-specific first."""

    def __init__(self, routes: Iterable[tuple[str, Iterable[str], T]]) -> None:
        entries = [
            (RouteTemplate.parse(template), tuple(m.upper() for m in methods), target)
            for template, methods, target in routes
        ]
        self._entries = sorted(entries, key=lambda entry: entry[0].precedence())

    def match(self, method: str, path: str) -> RouteMatch[T]:
        """Route `method path`; a path that matches only under other methods reports those methods."""
        allowed: list[str] = []
        for template, methods, target in self._entries:
            params = template.match(path)
            if params is None:
                continue
            if method.upper() in methods:
                return RouteMatch(target=target, route_params=params)
            allowed.extend(m for m in methods if m not in allowed)
        return RouteMatch(target=None, route_params={}, allowed_methods=tuple(allowed))
