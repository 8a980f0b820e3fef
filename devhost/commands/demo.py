"""`python -m devhost demo`: start the devhost, upload the sample dataset, follow one whole run, print its report."""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from shared.names import TRAINING_CONTAINER, run_reports_prefix
from shared.runs import run_id_for

DEFAULT_DATASET = Path("examples/xbox-support.jsonl")
DEMO_BLOB = "xbox/xbox-support.jsonl"
TERMINAL = {"Completed", "Failed", "Terminated"}
# Local jobs take a minute, not hours: poll every few seconds instead of Azure's 30 s doubling to 10 minutes.
DEMO_POLLING = {"POLL_INITIAL_SECONDS": "2", "POLL_MAX_SECONDS": "5"}
console = Console(highlight=False, soft_wrap=True)


def register(subparsers: Any) -> None:
    """Add the `demo` subcommand."""
    parser = subparsers.add_parser("demo", help="run one whole fine-tuning run on the devhost and print its report")
    parser.add_argument("--file", type=Path, default=DEFAULT_DATASET, help="training file (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=Path(".devhost"), help="devhost state (default: %(default)s)")
    parser.add_argument("--http-port", type=int, default=0, help="Functions HTTP port (default: any free port)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="give up after this many seconds")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 only when the run succeeded."""
    if not args.file.is_file():
        console.print(f"[red]no such training file: {args.file}[/red]")
        return 2
    from devhost.home import Devhost, DevhostOptions  # noqa: PLC0415 (the CLI stays light)
    from devhost.logs import configure_devhost_logging  # noqa: PLC0415 (the CLI stays light)

    configure_devhost_logging(logging.WARNING)
    for setting, value in DEMO_POLLING.items():
        os.environ.setdefault(setting, value)
    options = DevhostOptions(data_dir=args.data_dir, http_port=args.http_port, poll_interval_s=1.0)
    console.print("[bold]Starting the devhost[/bold] (Azurite, Service Bus broker, durable engine, local foundry)...")
    with Devhost(options) as home:
        for name, address in sorted(home.addresses.items()):
            console.print(f"  {name:24} {address}")
        console.print(f"  {'connection strings':24} {args.data_dir / 'connections.json'} (mode 0600)")
        store = home.store
        assert store is not None
        etag = store.upload(TRAINING_CONTAINER, DEMO_BLOB, args.file.read_bytes(), content_type="application/jsonl")
        run_id = run_id_for(TRAINING_CONTAINER, DEMO_BLOB, etag)
        console.print(
            f"Uploaded [cyan]{args.file}[/cyan] as {TRAINING_CONTAINER}/{DEMO_BLOB}: run [bold]{run_id}[/bold]"
        )
        status = _follow(home, run_id, args.timeout)
        if status is None:
            console.print(f"[red]the run did not finish within {args.timeout:g} s[/red]")
            return 1
        return _report(run_id, status, args.data_dir, args.file)


def _follow(home: Any, run_id: str, timeout_s: float) -> Any:
    """Print each stage change and the training loss as it falls; returns the final status."""
    deadline = time.monotonic() + timeout_s
    shown_stage: tuple[Any, ...] = ()
    shown_loss: float | None = None
    while time.monotonic() < deadline:
        status = home.engine.get_status(run_id)
        if status is not None:
            custom = status.custom_status if isinstance(status.custom_status, dict) else {}
            stage = (custom.get("stage"), custom.get("state"), custom.get("detail"))
            if custom and stage != shown_stage:
                shown_stage = stage
                console.print(f"  {stage[0] or '':<16} {stage[1] or '':<12} {stage[2] or ''}")
            loss = _training_loss(custom)
            if loss is not None and (shown_loss is None or abs(loss - shown_loss) >= 0.05):
                shown_loss = loss
                console.print(f"  {'':<16} {'':<12} training loss {loss:.3f}")
            if status.runtime_status.value in TERMINAL:
                return status
        time.sleep(1.0)
    return None


def _training_loss(custom: dict[str, Any]) -> float | None:
    from shared.bootstrap import services  # noqa: PLC0415 (the CLI stays light)

    if custom.get("stage") != "training" or not custom.get("job_name"):
        return None
    try:
        metrics = services().backend.get_job(custom["job_name"]).metrics
    except Exception:
        return None
    return metrics.train_loss if metrics else None


def _report(run_id: str, status: Any, data_dir: Path, dataset: Path) -> int:
    from shared.bootstrap import services  # noqa: PLC0415 (the CLI stays light)

    deps = services()
    output = status.output if isinstance(status.output, dict) else {}
    outcome = output.get("outcome", status.runtime_status.value)
    colour = "green" if outcome == "succeeded" else "red"
    console.print(f"\n[bold {colour}]Run {run_id}: {outcome}[/bold {colour}] - {output.get('reason', '')}")
    local_dir = data_dir / "reports" / run_id
    local_dir.mkdir(parents=True, exist_ok=True)
    for info in deps.store.list_blobs(deps.settings.reports_container, run_reports_prefix(run_id)):
        data, _ = deps.store.read_bytes(deps.settings.reports_container, info.name)
        (local_dir / info.name.rsplit("/", 1)[-1]).write_bytes(data)
    console.print(f"Report: [cyan]{(local_dir / 'report.html').resolve()}[/cyan]")
    deployment = output.get("deploymentName")
    if outcome != "succeeded" or not deployment:
        return 1
    endpoint = deps.backend.get_deployment(deployment)
    console.print(f"Endpoint: [cyan]{endpoint.scoring_uri}[/cyan] (deployment {deployment})")
    prompt, reference = _first_example(dataset)
    reply = deps.chat.complete(
        endpoint.scoring_uri or "",
        deps.backend.get_deployment_key(deployment),
        prompt,
        max_tokens=64,
        temperature=0.0,
    )
    console.print(f"Q: {prompt[-1].content}")
    console.print(f"A (fine-tuned model): {reply.content or reply.error}")
    console.print(f"Reference answer:     {reference}")
    return 0


def _first_example(dataset: Path) -> tuple[list[Any], str]:
    """The first training example as a prompt (up to its last reply) and that reply: a question it has seen."""
    import orjson  # noqa: PLC0415 (the CLI stays light)

    from shared.chat_client import ChatMessage  # noqa: PLC0415 (the CLI stays light)

    with dataset.open("rb") as lines:
        messages = orjson.loads(lines.readline().removeprefix(b"\xef\xbb\xbf"))["messages"]
    reference = messages.pop()["content"] if messages and messages[-1]["role"] == "assistant" else ""
    return [ChatMessage(role=m["role"], content=m["content"]) for m in messages], reference
