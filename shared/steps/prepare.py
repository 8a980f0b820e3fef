"""The prepare step: split and normalise the data, upload the prepared files, register the datasets."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from shared.bootstrap import Services
from shared.chat_client import ChatMessage
from shared.models import PrepareInput, PrepareResult
from shared.smoketest import HeldOutExample, held_out_example
from shared.steps.janitor import family_marker
from shared.steps.naming import report_blob
from shared.validation import prepare_datasets

PROBE_EXAMPLES = 20
_CHUNK = 1024 * 1024


def prepare_run_datasets(services: Services, request: PrepareInput) -> PrepareResult:
    """Write `train.jsonl`, `validation.jsonl` and `probes.json` to the run's folder and register them."""
    store, settings, options = services.store, services.settings, request.options
    container = request.blob.container
    training = store.download_chunks(container, request.blob.name)
    validation = store.download_chunks(container, options.validation_blob) if options.validation_blob else None
    reports = settings.reports_container
    with tempfile.TemporaryDirectory(prefix="ft-prepare-") as scratch:
        train_path, validation_path = Path(scratch, "train.jsonl"), Path(scratch, "validation.jsonl")
        with train_path.open("wb") as train_out, validation_path.open("wb") as validation_out:
            prepared = prepare_datasets(
                training,
                validation,
                options.validation_split,
                request.run_id,
                train_out,
                validation_out,
                held_out_examples=PROBE_EXAMPLES,
                max_line_bytes=settings.max_line_bytes,
            )
        if not prepared.ok:
            return PrepareResult(ok=False, refusal=prepared.refusal or "the data could not be split")
        train_blob = report_blob(request.run_id, "train.jsonl")
        validation_blob = report_blob(request.run_id, "validation.jsonl")
        with train_path.open("rb") as data:
            store.upload(reports, train_blob, _chunks(data), content_type="application/jsonl")
        with validation_path.open("rb") as data:
            store.upload(reports, validation_blob, _chunks(data), content_type="application/jsonl")
        probes = _probes(prepared.held_out)
    probes_blob = report_blob(request.run_id, "probes.json")
    probes_json = "[" + ",".join(probe.model_dump_json() for probe in probes) + "]"
    store.upload(reports, probes_blob, probes_json.encode(), content_type="application/json")
    store.upload(settings.state_container, family_marker(options.family), b"", content_type="text/plain")
    backend = services.backend
    return PrepareResult(
        training_data_uri=backend.register_dataset(f"{request.run_id}-train", store.url(reports, train_blob)),
        validation_data_uri=backend.register_dataset(
            f"{request.run_id}-validation", store.url(reports, validation_blob)
        ),
        train_examples=prepared.train_examples,
        validation_examples=prepared.validation_examples,
        probes_blob=probes_blob,
    )


def _chunks(data: BinaryIO) -> Iterator[bytes]:
    while chunk := data.read(_CHUNK):
        yield chunk


def _probes(held_out: list[list[Any]]) -> list[HeldOutExample]:
    """Held-out examples as prompts with their reference answers (examples without a final reply are skipped)."""
    probes: list[HeldOutExample] = []
    for messages in held_out:
        with contextlib.suppress(ValueError):
            probes.append(held_out_example([ChatMessage(role=m.role, content=m.content) for m in messages]))
    return probes
