"""Names that cross a boundary (containers, bus entities, tags), defined once."""

from __future__ import annotations

from typing import Final

TRAINING_CONTAINER: Final = "training-data"
REPORTS_CONTAINER: Final = "finetune-reports"
STATE_CONTAINER: Final = "finetune-state"

EVENTS_TOPIC: Final = "finetune-events"
COMMANDS_QUEUE: Final = "finetune-commands"
ALL_EVENTS_SUBSCRIPTION: Final = "all-events"
FAILURES_SUBSCRIPTION: Final = "failures"

MANAGED_BY_TAG: Final = "managed-by"
MANAGED_BY_VALUE: Final = "phi-finetune-orchestrator"
FAMILY_TAG: Final = "family"
RUN_ID_TAG: Final = "run-id"

BLOB_RUN_ID_TAG: Final = "ft_run_id"
BLOB_STATUS_TAG: Final = "ft_status"
OPTION_METADATA_PREFIX: Final = "ft_"


def run_reports_prefix(run_id: str) -> str:
    """The folder in the reports container that holds everything one run wrote."""
    return f"runs/{run_id}/"


def alias_blob_name(family: str) -> str:
    """The blob in the state container that records which model a family's alias points to."""
    return f"aliases/{family}.json"
