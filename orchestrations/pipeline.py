"""The `fine_tune_pipeline` orchestration: one durable run from a dropped JSONL to a promoted deployment.

Deterministic: no I/O, no clock but `context.current_utc_datetime`, no settings (the starter resolves them
into `RunInput.policy`). Business outcomes end the run through `RunEndedError`; an activity that still fails after
its retries ends it as failed. After any failure once training started, compensation cancels a running job
and deletes a deployment this run created; the family's alias is never touched unless promotion succeeded.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from orchestrations import names
from orchestrations.calls import Task, activity, parse
from shared.events import EventType
from shared.models import (
    CleanupInput,
    CleanupResult,
    DeployInput,
    DeploymentRef,
    FinalizeInput,
    FinalizeResult,
    JobRef,
    MonitorInput,
    MonitorKind,
    MonitorOutcome,
    MonitorResult,
    NameInput,
    PrepareInput,
    PrepareResult,
    PromoteInput,
    PromoteResult,
    PublishInput,
    RunInput,
    RunOutcome,
    RunStatus,
    SmokeInput,
    SmokeResult,
    Stage,
    StageRecord,
    SubmitInput,
    TagInput,
    ValidateInput,
    ValidateResult,
)

bp = df.Blueprint()

FIRST_ORCHESTRATION_SEQUENCE = 2  # sequence 1 is `run.accepted`, published by the starter

_FINAL_EVENTS = {
    RunOutcome.SUCCEEDED: EventType.RUN_SUCCEEDED,
    RunOutcome.FAILED: EventType.RUN_FAILED,
    RunOutcome.CANCELED: EventType.RUN_CANCELED,
    RunOutcome.REJECTED: EventType.RUN_REJECTED,
}
_FINAL_STAGES = {
    RunOutcome.SUCCEEDED: Stage.SUCCEEDED,
    RunOutcome.FAILED: Stage.FAILED,
    RunOutcome.CANCELED: Stage.CANCELED,
    RunOutcome.REJECTED: Stage.REJECTED,
}


class RunEndedError(Exception):
    """A business outcome that ends the run before it succeeds (not a fault)."""

    def __init__(self, outcome: RunOutcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def _reason_of(event_data: Any, default: str) -> str:
    if isinstance(event_data, dict) and event_data.get("reason"):
        return str(event_data["reason"])[:500]
    return default


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:500]


class PipelineRun:
    """The state of one run while its orchestrator replays: stages, facts, the event sequence."""

    def __init__(self, context: df.DurableOrchestrationContext, run: RunInput) -> None:
        self.context = context
        self.run = run
        self.sequence = FIRST_ORCHESTRATION_SEQUENCE
        self.stages: list[StageRecord] = []
        self.cancel = context.wait_for_external_event(names.CANCEL_EVENT)
        self.validation: ValidateResult | None = None
        self.prepared: PrepareResult | None = None
        self.job: JobRef | None = None
        self.job_may_run = False
        self.deployment: DeploymentRef | None = None
        self.deployment_owned = False
        self.smoke: SmokeResult | None = None
        self.promotion: PromoteResult | None = None
        self.cleanup: CleanupResult | None = None

    # --- the run -------------------------------------------------------------------------------------------

    def execute(self) -> Generator[Task, Any, dict[str, Any]]:
        """Run every stage, compensate on failure, then report; returns the final summary."""
        outcome, reason = RunOutcome.SUCCEEDED, "promoted and cleaned up"
        try:
            yield from self._stages()
        except RunEndedError as ended:
            outcome, reason = ended.outcome, ended.reason
        except Exception as error:  # an activity failed after all its retries
            stage = self.stages[-1].stage if self.stages else Stage.ACCEPTED
            outcome, reason = RunOutcome.FAILED, f"{stage.value} failed: {_first_line(error)}"
        if outcome is not RunOutcome.SUCCEEDED:
            reason += yield from self._compensate()
        return (yield from self._finish(outcome, reason))

    def _stages(self) -> Generator[Task, Any, None]:
        yield from self._validate()
        yield from self._prepare()
        yield from self._train()
        yield from self._deploy()
        yield from self._smoke_test()
        if self.run.options.require_approval:
            yield from self._await_approval()
        yield from self._promote()
        yield from self._clean_up()

    def _validate(self) -> Generator[Task, Any, None]:
        self._enter(Stage.VALIDATING, "checking format, token limits, secrets and cost")
        if self.run.option_error is not None:
            facts = {"valid": False, "errors": 1, "firstErrors": [self.run.option_error]}
            yield from self._publish(EventType.VALIDATION_FAILED, "failed", facts)
            raise RunEndedError(RunOutcome.REJECTED, f"bad run options: {self.run.option_error}")
        payload = ValidateInput(run_id=self.run.run_id, blob=self.run.blob, options=self.run.options)
        self.validation = validation = yield from self._work(names.VALIDATE, payload, ValidateResult)
        facts = {
            "valid": validation.valid,
            "reportBlob": validation.report_blob,
            "errors": validation.error_count,
            "warnings": validation.warning_count,
            "firstErrors": validation.first_errors,
            "examples": validation.examples,
            "billableTokens": validation.billable_tokens,
            "estimatedCostUsd": validation.estimated_cost_usd,
            "tokenCountExact": validation.token_count_exact,
        }
        if not validation.valid:
            yield from self._publish(EventType.VALIDATION_FAILED, "failed", facts)
            summary = "; ".join(validation.first_errors[:3]) or "see the validation report"
            raise RunEndedError(RunOutcome.REJECTED, f"validation failed ({validation.error_count} errors): {summary}")
        yield from self._publish(EventType.VALIDATION_SUCCEEDED, "succeeded", facts)

    def _prepare(self) -> Generator[Task, Any, None]:
        self._enter(Stage.PREPARING, "splitting and registering the datasets")
        payload = PrepareInput(run_id=self.run.run_id, blob=self.run.blob, options=self.run.options)
        self.prepared = prepared = yield from self._work(names.PREPARE, payload, PrepareResult)
        if not prepared.ok:
            reason = prepared.refusal or "the data could not be prepared"
            yield from self._publish(EventType.PREPARATION_FAILED, "failed", {"reason": reason})
            raise RunEndedError(RunOutcome.REJECTED, f"preparation refused: {reason}")
        facts = {"trainExamples": prepared.train_examples, "validationExamples": prepared.validation_examples}
        yield from self._publish(EventType.PREPARATION_SUCCEEDED, "succeeded", facts)

    def _train(self) -> Generator[Task, Any, None]:
        assert self.prepared is not None
        self._enter(Stage.TRAINING, f"fine-tuning {self.run.options.base_model}")
        payload = SubmitInput(run_id=self.run.run_id, options=self.run.options, prepared=self.prepared)
        self.job_may_run = True
        self.job = job = yield from self._work(names.SUBMIT, payload, JobRef)
        self._set_status("submitted", f"job {job.job_name}")
        options = self.run.options
        facts = {
            "jobName": job.job_name,
            "baseModel": options.base_model,
            "epochs": options.epochs,
            "learningRate": options.learning_rate,
            "batchSize": options.batch_size,
        }
        yield from self._publish(EventType.TRAINING_SUBMITTED, "submitted", facts)
        self._set_status("running", f"job {job.job_name} submitted; waiting for it to finish")
        deadline = self.context.current_utc_datetime + timedelta(hours=options.max_training_hours)
        result = yield from self._monitor(MonitorKind.TRAINING, job.job_name, deadline, publish_changes=True)
        last = result.last
        facts = {
            "jobName": job.job_name,
            "status": last.state if last else None,
            "trainLoss": last.train_loss if last else None,
            "validationLoss": last.validation_loss if last else None,
        }
        if result.outcome is MonitorOutcome.SUCCEEDED:
            self.job_may_run = False
            yield from self._publish(EventType.TRAINING_SUCCEEDED, "succeeded", facts)
            return
        if result.outcome in {MonitorOutcome.FAILED, MonitorOutcome.CANCELED}:
            self.job_may_run = False
        if result.outcome is MonitorOutcome.CANCEL_REQUESTED:
            raise RunEndedError(RunOutcome.CANCELED, "canceled on request during training")
        if result.outcome is MonitorOutcome.CANCELED:
            yield from self._publish(EventType.TRAINING_FAILED, "canceled", {**facts, "reason": "job canceled"})
            raise RunEndedError(RunOutcome.CANCELED, f"the training job {job.job_name} was canceled")
        if result.outcome is MonitorOutcome.DEADLINE:
            why = f"training did not finish within {options.max_training_hours:g} hours"
            yield from self._publish(EventType.TRAINING_FAILED, "failed", {**facts, "reason": why})
            raise RunEndedError(RunOutcome.FAILED, why)
        detail = (last.detail if last else "") or "no detail from the backend"
        yield from self._publish(EventType.TRAINING_FAILED, "failed", {**facts, "reason": detail})
        raise RunEndedError(RunOutcome.FAILED, f"training failed: {detail}")

    def _deploy(self) -> Generator[Task, Any, None]:
        assert self.job is not None
        self._enter(Stage.DEPLOYING, "creating the serverless deployment")
        payload = DeployInput(run_id=self.run.run_id, family=self.run.options.family, job_name=self.job.job_name)
        self.deployment_owned = True
        self.deployment = deployment = yield from self._work(names.DEPLOY, payload, DeploymentRef)
        self._set_status("provisioning", f"deployment {deployment.name}")
        policy = self.run.policy
        deadline = self.context.current_utc_datetime + timedelta(minutes=policy.deployment_timeout_minutes)
        result = yield from self._monitor(MonitorKind.DEPLOYMENT, deployment.name, deadline, publish_changes=False)
        facts = {
            "deploymentName": deployment.name,
            "model": {"name": deployment.model_name, "version": deployment.model_version},
        }
        if result.outcome is MonitorOutcome.SUCCEEDED:
            yield from self._publish(EventType.DEPLOYMENT_SUCCEEDED, "succeeded", facts)
            return
        if result.outcome is MonitorOutcome.CANCEL_REQUESTED:
            raise RunEndedError(RunOutcome.CANCELED, "canceled on request during deployment")
        if result.outcome is MonitorOutcome.DEADLINE:
            why = f"deployment did not provision within {policy.deployment_timeout_minutes:g} minutes"
        else:
            why = f"deployment failed: {(result.last.detail if result.last else '') or 'no detail'}"
        yield from self._publish(EventType.DEPLOYMENT_FAILED, "failed", {**facts, "reason": why})
        raise RunEndedError(RunOutcome.FAILED, why)

    def _smoke_test(self) -> Generator[Task, Any, None]:
        assert self.deployment is not None
        assert self.prepared is not None
        self._enter(Stage.SMOKE_TESTING, f"probing {self.deployment.name}")
        payload = SmokeInput(
            run_id=self.run.run_id, deployment_name=self.deployment.name, probes_blob=self.prepared.probes_blob
        )
        self.smoke = smoke = yield from self._work(names.SMOKE_TEST, payload, SmokeResult)
        facts = {
            "deploymentName": self.deployment.name,
            "passed": smoke.passed,
            "score": smoke.score,
            "probes": smoke.probes,
            "failures": smoke.failures[:5],
            "reportBlob": smoke.report_blob,
        }
        if not smoke.passed:
            yield from self._publish(EventType.SMOKETEST_FAILED, "failed", facts)
            failures = "; ".join(smoke.failures[:3]) or "see the smoke report"
            raise RunEndedError(RunOutcome.FAILED, f"smoke test failed: {failures}")
        yield from self._publish(EventType.SMOKETEST_PASSED, "passed", facts)

    def _await_approval(self) -> Generator[Task, Any, None]:
        assert self.deployment is not None
        hours = self.run.policy.approval_timeout_hours
        self._enter(Stage.AWAITING_APPROVAL, f"waiting up to {hours:g} hours for approve or reject")
        facts = {"deploymentName": self.deployment.name, "timeoutHours": hours}
        yield from self._publish(EventType.APPROVAL_REQUESTED, "waiting", facts)
        approve = self.context.wait_for_external_event(names.APPROVE_EVENT)
        reject = self.context.wait_for_external_event(names.REJECT_EVENT)
        timer = self.context.create_timer(self.context.current_utc_datetime + timedelta(hours=hours))
        winner = yield self.context.task_any([approve, reject, timer, self.cancel])
        if winner is not timer:
            timer.cancel()
        if winner is approve:
            reason = _reason_of(approve.result, "approved")
            yield from self._publish(EventType.APPROVAL_GRANTED, "approved", {**facts, "reason": reason})
            return
        if winner is self.cancel:
            raise RunEndedError(RunOutcome.CANCELED, _reason_of(self.cancel.result, "canceled while awaiting approval"))
        reason = _reason_of(reject.result, "rejected") if winner is reject else f"no decision within {hours:g} hours"
        yield from self._publish(EventType.APPROVAL_REJECTED, "rejected", {**facts, "reason": reason})
        raise RunEndedError(RunOutcome.REJECTED, f"not approved: {reason}")

    def _promote(self) -> Generator[Task, Any, None]:
        assert self.deployment is not None
        family = self.run.options.family
        self._enter(Stage.PROMOTING, f"pointing alias {family} at {self.deployment.name}")
        payload = PromoteInput(run_id=self.run.run_id, family=family, deployment=self.deployment)
        self.promotion = promotion = yield from self._work(names.PROMOTE, payload, PromoteResult)
        self.deployment_owned = False
        facts = {
            "family": family,
            "deploymentName": self.deployment.name,
            "previousDeployment": promotion.previous_deployment,
            "aliasBlob": promotion.alias_blob,
        }
        yield from self._publish(EventType.PROMOTION_SUCCEEDED, "succeeded", facts)

    def _clean_up(self) -> Generator[Task, Any, None]:
        family = self.run.options.family
        self._enter(Stage.CLEANING_UP, f"applying retention to {family}")
        payload = CleanupInput(
            family=family, keep_previous=self.run.policy.keep_previous, protected_runs=[self.run.run_id]
        )
        self.cleanup = cleanup = parse(CleanupResult, (yield self._activity(names.CLEAN_UP, payload)))
        facts = {"deletedDeployments": cleanup.deleted_deployments, "archivedModels": cleanup.archived_models}
        yield from self._publish(EventType.CLEANUP_SUCCEEDED, "succeeded", facts)

    # --- ending --------------------------------------------------------------------------------------------

    def _compensate(self) -> Generator[Task, Any, str]:
        done: list[str] = []
        if self.job is not None and self.job_may_run:
            try:
                yield self._activity(names.CANCEL_JOB, NameInput(run_id=self.run.run_id, name=self.job.job_name))
                done.append(f"canceled job {self.job.job_name}")
            except Exception as error:
                done.append(f"could not cancel job {self.job.job_name}: {_first_line(error)}")
        if self.deployment is not None and self.deployment_owned:
            name = self.deployment.name
            try:
                yield self._activity(names.DELETE_DEPLOYMENT, NameInput(run_id=self.run.run_id, name=name))
                done.append(f"deleted deployment {name}")
            except Exception as error:
                done.append(f"could not delete deployment {name}: {_first_line(error)}")
        return f" (compensation: {'; '.join(done)}; alias untouched)" if done else ""

    def _finish(self, outcome: RunOutcome, reason: str) -> Generator[Task, Any, dict[str, Any]]:
        self._close_stage("succeeded" if outcome is RunOutcome.SUCCEEDED else outcome.value)
        final = _FINAL_STAGES[outcome]
        report: FinalizeResult | None = None
        try:
            payload = FinalizeInput(
                run_id=self.run.run_id,
                family=self.run.options.family,
                outcome=outcome,
                reason=reason,
                stages=self.stages,
                validation=self.validation,
                prepared=self.prepared,
                job_name=self.job.job_name if self.job else None,
                deployment=self.deployment,
                smoke=self.smoke,
                promotion=self.promotion,
                cleanup=self.cleanup,
            )
            report = parse(FinalizeResult, (yield self._activity(names.FINALIZE, payload)))
        except Exception as error:
            reason += f" (the report could not be written: {_first_line(error)})"
        try:
            tag = TagInput(blob=self.run.blob, run_id=self.run.run_id, status=outcome.value)
            yield self._activity(names.TAG_BLOB, tag)
        except Exception as error:
            reason += f" (the blob could not be tagged: {_first_line(error)})"
        summary: dict[str, Any] = {
            "runId": self.run.run_id,
            "outcome": outcome.value,
            "reason": reason,
            "family": self.run.options.family,
            "jobName": self.job.job_name if self.job else None,
            "deploymentName": self.deployment.name if self.deployment and outcome is RunOutcome.SUCCEEDED else None,
            "reportBlob": report.report_blob if report else None,
            "summaryBlob": report.summary_blob if report else None,
        }
        facts = {key: value for key, value in summary.items() if key != "runId"}
        yield from self._publish(_FINAL_EVENTS[outcome], outcome.value, facts)
        self._set_status(outcome.value, reason, stage=final)
        return summary

    # --- helpers -------------------------------------------------------------------------------------------

    def _activity(self, name: str, payload: Any) -> Task:
        """Schedule an activity carrying the run's trace context and current stage."""
        return activity(
            self.context,
            name,
            payload,
            trace=self.run.trace,
            run_id=self.run.run_id,
            stage=self._current_stage().value,
        )

    def _work(self, name: str, payload: Any, result_type: Any) -> Generator[Task, Any, Any]:
        """Run an activity, racing a `cancel` command; returns its decoded result."""
        task = self._activity(name, payload)
        winner = yield self.context.task_any([task, self.cancel])
        if winner is self.cancel:
            raise RunEndedError(RunOutcome.CANCELED, _reason_of(self.cancel.result, "canceled on request"))
        return parse(result_type, (yield task))

    def _monitor(
        self, kind: MonitorKind, name: str, deadline: Any, *, publish_changes: bool
    ) -> Generator[Task, Any, MonitorResult]:
        """Wait for a job or deployment in the monitor sub-orchestration; a cancel stops what it waits for."""
        policy = self.run.policy
        state = MonitorInput(
            run_id=self.run.run_id,
            kind=kind,
            name=name,
            deadline=deadline,
            initial_interval_s=policy.poll_initial_seconds,
            max_interval_s=policy.poll_max_seconds,
            polls_per_generation=policy.polls_per_generation,
            next_sequence=self.sequence,
            publish_status_changes=publish_changes,
            trace=self.run.trace,
        )
        instance_id = names.monitor_instance_id(self.run.run_id, kind.value)
        task = self.context.call_sub_orchestrator(names.MONITOR, state.model_dump(mode="json"), instance_id)
        winner = yield self.context.task_any([task, self.cancel])
        if winner is self.cancel:
            # Stop what the monitor waits for; it then sees a terminal state and ends, keeping the sequence whole.
            stop = names.CANCEL_JOB if kind is MonitorKind.TRAINING else names.DELETE_DEPLOYMENT
            yield self._activity(stop, NameInput(run_id=self.run.run_id, name=name))
            if kind is MonitorKind.TRAINING:
                self.job_may_run = False
            else:
                self.deployment_owned = False
            result = parse(MonitorResult, (yield task))
            self.sequence = result.next_sequence
            reason = _reason_of(self.cancel.result, f"canceled on request during {kind}")
            raise RunEndedError(RunOutcome.CANCELED, reason)
        result = parse(MonitorResult, (yield task))
        self.sequence = result.next_sequence
        return result

    def _publish(self, event_type: EventType, state: str, data: dict[str, Any]) -> Generator[Task, Any, None]:
        event = PublishInput(
            run_id=self.run.run_id,
            event_type=event_type.value,
            sequence=self.sequence,
            state=state,
            time=self.context.current_utc_datetime,
            data=data,
        )
        self.sequence += 1
        yield self._activity(names.PUBLISH_EVENT, event)

    def _current_stage(self) -> Stage:
        return self.stages[-1].stage if self.stages else Stage.ACCEPTED

    def _enter(self, stage: Stage, detail: str) -> None:
        self._close_stage("succeeded")
        self.stages.append(StageRecord(stage=stage, state="running", started_at=self.context.current_utc_datetime))
        self._set_status("running", detail)

    def _close_stage(self, state: str) -> None:
        if self.stages and self.stages[-1].ended_at is None:
            self.stages[-1].ended_at = self.context.current_utc_datetime
            self.stages[-1].state = state

    def _set_status(self, state: str, detail: str, *, stage: Stage | None = None) -> None:
        status = RunStatus(
            stage=stage or self._current_stage(),
            state=state,
            detail=detail,
            updated_at=self.context.current_utc_datetime,
            run_id=self.run.run_id,
            family=self.run.options.family,
            stages=self.stages,
            job_name=self.job.job_name if self.job else None,
            deployment_name=self.deployment.name if self.deployment else None,
        )
        self.context.set_custom_status(status.model_dump(mode="json"))


def fine_tune_pipeline(context: df.DurableOrchestrationContext) -> Generator[Task, Any, dict[str, Any]]:
    """The orchestrator function: decode the input and run the pipeline."""
    run = RunInput.model_validate(context.get_input())
    return (yield from PipelineRun(context, run).execute())


bp.orchestration_trigger(context_name="context", orchestration=names.PIPELINE)(fine_tune_pipeline)
