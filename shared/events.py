"""The event contract: CloudEvents 1.0 published on topic `finetune-events` (DESIGN section 5)."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """Every event type the service publishes: `finetune.<stage>.<outcome>`."""

    RUN_ACCEPTED = "finetune.run.accepted"
    VALIDATION_SUCCEEDED = "finetune.validation.succeeded"
    VALIDATION_FAILED = "finetune.validation.failed"
    PREPARATION_SUCCEEDED = "finetune.preparation.succeeded"
    TRAINING_SUBMITTED = "finetune.training.submitted"
    TRAINING_STATUS_CHANGED = "finetune.training.status_changed"
    TRAINING_SUCCEEDED = "finetune.training.succeeded"
    TRAINING_FAILED = "finetune.training.failed"
    DEPLOYMENT_SUCCEEDED = "finetune.deployment.succeeded"
    DEPLOYMENT_FAILED = "finetune.deployment.failed"
    SMOKETEST_PASSED = "finetune.smoketest.passed"
    SMOKETEST_FAILED = "finetune.smoketest.failed"
    APPROVAL_REQUESTED = "finetune.approval.requested"
    APPROVAL_GRANTED = "finetune.approval.granted"
    APPROVAL_REJECTED = "finetune.approval.rejected"
    PROMOTION_SUCCEEDED = "finetune.promotion.succeeded"
    CLEANUP_SUCCEEDED = "finetune.cleanup.succeeded"
    RUN_SUCCEEDED = "finetune.run.succeeded"
    RUN_FAILED = "finetune.run.failed"
    RUN_CANCELED = "finetune.run.canceled"
    RUN_REJECTED = "finetune.run.rejected"

    @property
    def stage(self) -> str:
        """The `<stage>` part of the type."""
        return self.value.split(".")[1]

    @property
    def outcome(self) -> str:
        """The `<outcome>` part of the type."""
        return self.value.split(".")[2]
