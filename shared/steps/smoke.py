"""The smoke-test step. The endpoint key is fetched here and never leaves this function."""

from __future__ import annotations

import orjson

from shared.bootstrap import Services
from shared.errors import PermanentError
from shared.models import SmokeInput, SmokeResult
from shared.smoketest import HeldOutExample, build_probes, run_smoke_test, smoke_thresholds_from_settings
from shared.steps.naming import report_blob
from shared.telemetry import instruments


def smoke_test_deployment(services: Services, request: SmokeInput) -> SmokeResult:
    """Probe the deployment with the configured prompts and held-out examples; write the smoke report."""
    store, settings, backend = services.store, services.settings, services.backend
    deployment = backend.get_deployment(request.deployment_name)
    if not deployment.scoring_uri:
        raise PermanentError(f"deployment {request.deployment_name} has no scoring URI ({deployment.state.value})")
    raw_probes, _ = store.read_bytes(settings.reports_container, request.probes_blob)
    examples = [HeldOutExample.model_validate(item) for item in orjson.loads(raw_probes)]
    probes = build_probes(settings.smoke_prompts, examples, sample_size=settings.smoke_sample_size, seed=request.run_id)
    report = run_smoke_test(
        services.chat,
        deployment.scoring_uri,
        backend.get_deployment_key(request.deployment_name),
        probes,
        smoke_thresholds_from_settings(settings),
    )
    for probe in report.probes:
        if probe.latency_ms is not None:
            instruments().smoke_latency(probe.latency_ms / 1000, "passed" if probe.passed else "failed")
    name = report_blob(request.run_id, "smoke-report.json")
    store.upload(
        settings.reports_container, name, report.model_dump_json(indent=2).encode(), content_type="application/json"
    )
    first_reply = next((probe.reply_excerpt for probe in report.probes if probe.reply_excerpt), None)
    return SmokeResult(
        passed=report.passed,
        score=round(report.aggregate_score or 0.0, 4),
        probes=len(report.probes),
        failures=report.failures,
        report_blob=name,
        sample_answer=first_reply,
    )
