"""The shape every benchmark returns: figures, and the targets they are held to."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Comparison = Literal["<=", ">=", "=="]

_COMPARATORS: dict[Comparison, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Target:
    """A figure's goal, e.g. `Target("speedup", ">=", 3)`."""

    figure: str
    comparison: Comparison
    value: float

    def met_by(self, figures: dict[str, float | int | str]) -> bool:
        """Whether the figure is present, numeric and on the right side of the goal."""
        measured = figures.get(self.figure)
        if not isinstance(measured, int | float):
            return False
        return _COMPARATORS[self.comparison](measured, self.value)

    def describe(self) -> str:
        """The goal as text, e.g. `speedup >= 3`."""
        return f"{self.figure} {self.comparison} {self.value:g}"


@dataclass
class BenchmarkResult:
    """What a benchmark measured and which targets it holds itself to."""

    figures: dict[str, float | int | str]
    targets: list[Target] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        """Figures plus `targets` (each goal and whether met) and `targets_met` overall."""
        checks = {target.describe(): target.met_by(self.figures) for target in self.targets}
        return {**self.figures, "targets": checks, "targets_met": all(checks.values())}
