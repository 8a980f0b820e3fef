"""Pure policy: poll backoff, retention. No I/O, no clock: tested without any Durable context."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from shared.foundry.port import DeploymentStatus, ModelRef
from shared.names import MANAGED_BY_TAG, MANAGED_BY_VALUE, RUN_ID_TAG


@dataclass(frozen=True)
class Backoff:
    """Exponential poll intervals: `initial`, doubled each poll, never above `cap`."""

    initial_s: float
    cap_s: float
    factor: float = 2.0

    def delay_s(self, poll_index: int) -> float:
        """Seconds to wait after poll number `poll_index` (0-based)."""
        return float(min(self.cap_s, self.initial_s * self.factor ** min(poll_index, 64)))


def is_managed(tags: dict[str, str]) -> bool:
    """Whether a resource carries this service's tag: nothing else is ever touched."""
    return tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE


@dataclass(frozen=True)
class RetentionPlan:
    """What retention removes: deployments first, then models no remaining deployment serves."""

    delete_deployments: list[str]
    archive_models: list[ModelRef]


def plan_retention(
    deployments: Sequence[DeploymentStatus],
    models: Sequence[ModelRef],
    *,
    current_deployment: str | None,
    keep_previous: int,
    protected_runs: Sequence[str] = (),
    eligible_runs: Collection[str] | None = None,
) -> RetentionPlan:
    """Keep the current deployment plus the `keep_previous` newest others; protect deployments of live runs.

    Models are archived once no kept deployment serves them (a model cannot be removed while deployed), except
    the models of protected (still running) runs. With `eligible_runs`, only resources of those runs are touched:
    a run cleaning up after its promotion touches promoted runs only, never another run still in flight.
    """
    managed = [d for d in deployments if is_managed(d.tags)]
    protected = set(protected_runs)

    def touchable(tags: dict[str, str]) -> bool:
        run = tags.get(RUN_ID_TAG)
        return run not in protected and (eligible_runs is None or run in eligible_runs)

    others = sorted(
        (d for d in managed if d.name != current_deployment and touchable(d.tags)),
        key=lambda d: (d.created_at or "", d.name),
        reverse=True,
    )
    doomed_names = {d.name for d in others[keep_previous:]}
    served = {(d.model.name, d.model.version) for d in managed if d.name not in doomed_names and d.model is not None}
    archive = [
        m
        for m in models
        if is_managed(m.tags) and not m.archived and (m.name, m.version) not in served and touchable(m.tags)
    ]
    return RetentionPlan(delete_deployments=sorted(doomed_names), archive_models=archive)
