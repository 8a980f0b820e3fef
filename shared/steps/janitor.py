"""The janitor's sweep: retention for every known family, removing what failed runs left behind."""

from __future__ import annotations

from shared.bootstrap import Services
from shared.models import CleanupInput, JanitorInput, JanitorResult
from shared.steps.cleanup import clean_up_family

FAMILIES_PREFIX = "families/"
ALIASES_PREFIX = "aliases/"


def family_marker(family: str) -> str:
    """The blob in the state container that records that a family has had runs."""
    return f"{FAMILIES_PREFIX}{family}"


def known_families(services: Services) -> list[str]:
    """Families with a run or an alias."""
    store, container = services.store, services.settings.state_container
    found = {info.name.removeprefix(FAMILIES_PREFIX) for info in store.list_blobs(container, FAMILIES_PREFIX)}
    found |= {
        info.name.removeprefix(ALIASES_PREFIX).removesuffix(".json")
        for info in store.list_blobs(container, ALIASES_PREFIX)
    }
    return sorted(found)


def sweep(services: Services, request: JanitorInput) -> JanitorResult:
    """Apply retention to every family, sparing the deployments and models of runs still going."""
    return JanitorResult(
        families={
            family: clean_up_family(
                services,
                CleanupInput(
                    family=family,
                    keep_previous=request.keep_previous,
                    protected_runs=request.active_runs,
                    promoted_only=False,
                ),
            )
            for family in known_families(services)
        }
    )
