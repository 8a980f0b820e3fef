"""Validation throughput and memory on a generated ~200 MB chat JSONL file, against a baseline.

The baseline does what the OpenAI cookbook's data-prep notebook does: read every line into a list with
`json.loads`, check the format, then count tokens message by message (every string value of a message, and
the assistant contents once more for their own statistics), with the same token counter
(`EstimatingTokenCounter.count_text_directly`: the same cl100k_base encoding and scale, one encode per
value). Both sides report the same token total (content tokens plus Phi-3 template tokens); the figure
`token_difference` shows they agree. Ours is
`validate_path`, which also scans for secrets and PII, finds duplicates and builds the full report. Each side
runs in its own subprocess, so that each one's peak RSS is its own; the sides alternate, twice, and each
side's fastest run counts (its highest peak RSS).

Throughputs are file megabytes per CPU second (user + system) of the measured work: both sides run on one
thread, so on an idle machine that equals wall time, and on a machine shared with other work (these have
two cores for several developers) it stays comparable while wall time swings twofold within a minute.
Wall-clock throughputs are reported too (`wall_mb_s`, `baseline_wall_mb_s`).

`VALIDATION_BENCH_MB` sets the file size (default 200) for quick local runs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from benchmarks.result import BenchmarkResult, Target

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_PROMPT = (
    "You are an Xbox customer support agent whose primary goal is to help users with issues they are "
    "experiencing with their Xbox devices. You are friendly and concise. You only provide factual answers to "
    "queries, and do not provide answers that are not related to Xbox."
)
_POOL = 40_000
_MULTI_TURN_SHARE = 0.15
_RUNS = 2


def _vocabulary() -> list[str]:
    sample = (ROOT / "examples" / "xbox-support.jsonl").read_text(encoding="utf-8")
    words = {w for line in sample.splitlines() for m in json.loads(line)["messages"] for w in m["content"].split()}
    return sorted(words)


def _messages(rng: random.Random, vocabulary: list[str], count: int, low: int, high: int) -> list[str]:
    """Sentences of random sample-set words, some with a ticket number or an error code (a long tail)."""
    out = []
    for _ in range(count):
        words = rng.choices(vocabulary, k=rng.randint(low, high))
        if rng.random() < 0.3:
            words.insert(rng.randrange(len(words)), f"#{rng.randrange(10**6):06d}")
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), f"0x{rng.randrange(16**8):08x}")
        out.append(" ".join(words).capitalize().rstrip(".?!") + rng.choice(".?!"))
    return out


def generate(path: Path, size_mb: float, seed: int = 7) -> int:
    """Write a valid chat JSONL file of about `size_mb` MB; returns the number of examples."""
    rng = random.Random(seed)
    vocabulary = _vocabulary()
    users = _messages(rng, vocabulary, _POOL, 6, 30)
    replies = _messages(rng, vocabulary, _POOL, 10, 45)
    system = {"role": "system", "content": SYSTEM_PROMPT}
    target = int(size_mb * 1_000_000)
    written = examples = 0
    with path.open("wb") as out:
        while written < target:
            lines = []
            for _ in range(2000):
                messages: list[dict[str, Any]] = [system]
                for _ in range(2 if rng.random() < _MULTI_TURN_SHARE else 1):
                    messages.append({"role": "user", "content": rng.choice(users)})
                    messages.append({"role": "assistant", "content": rng.choice(replies)})
                lines.append(orjson.dumps({"messages": messages}))
            block = b"\n".join(lines) + b"\n"
            out.write(block)
            written += len(block)
            examples += len(lines)
    return examples


def _baseline(path: Path) -> dict[str, Any]:
    """The cookbook's approach: load everything, check the format, then count tokens message by message.

    Like the notebook, every string value of a message (role and content) is encoded for the example's
    total, and assistant contents are encoded again for the assistant-token statistics.
    """
    from shared.validation.stats import distribution  # noqa: PLC0415 - imported in the measured subprocess
    from shared.validation.tokens import (  # noqa: PLC0415
        TEMPLATE_TOKENS_PER_EXAMPLE,
        TEMPLATE_TOKENS_PER_MESSAGE,
        EstimatingTokenCounter,
    )

    count = EstimatingTokenCounter().count_text_directly
    started, cpu_started = time.perf_counter(), time.process_time()
    with path.open(encoding="utf-8") as file:
        dataset = [json.loads(line) for line in file]
    errors = _baseline_format_errors(dataset)

    def tokens_of(messages: list[dict[str, Any]]) -> tuple[int, int]:
        """(the example's tokens, its content tokens plus our template: the figure ours reports)."""
        total = content = 0
        for message in messages:
            total += TEMPLATE_TOKENS_PER_MESSAGE
            for key, value in message.items():
                if isinstance(value, str):
                    tokens = count(value)
                    total += tokens
                    if key == "content":
                        content += tokens
        messages_template = TEMPLATE_TOKENS_PER_MESSAGE * len(messages)
        return total + TEMPLATE_TOKENS_PER_EXAMPLE, content + messages_template + TEMPLATE_TOKENS_PER_EXAMPLE

    def assistant_tokens_of(messages: list[dict[str, Any]]) -> int:
        return sum(count(m["content"]) for m in messages if m["role"] == "assistant")

    missing_system = missing_user = 0
    message_counts: list[int] = []
    lengths: list[int] = []
    comparable: list[int] = []
    assistant_lengths: list[int] = []
    for example in dataset:
        messages = example["messages"]
        missing_system += not any(m["role"] == "system" for m in messages)
        missing_user += not any(m["role"] == "user" for m in messages)
        message_counts.append(len(messages))
        total, same_as_ours = tokens_of(messages)
        lengths.append(total)
        comparable.append(same_as_ours)
        assistant_lengths.append(assistant_tokens_of(messages))
    too_long = sum(1 for n in lengths if n > 4096)
    for values in (message_counts, lengths, assistant_lengths):
        distribution(values)
    return {
        "seconds": time.process_time() - cpu_started,
        "wall_seconds": time.perf_counter() - started,
        "tokens": sum(comparable),
        "examples": len(dataset),
        "errors": sum(errors.values()) + too_long,
    }


def _baseline_format_errors(dataset: list[Any]) -> dict[str, int]:
    errors: dict[str, int] = {}

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    for example in dataset:
        if not isinstance(example, dict):
            error("data_type")
            continue
        messages = example.get("messages")
        if not messages:
            error("missing_messages_list")
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                error("message_missing_key")
            if any(k not in ("role", "content", "name", "weight") for k in message):
                error("message_unrecognized_key")
            if message.get("role") not in ("system", "user", "assistant"):
                error("unrecognized_role")
            content = message.get("content")
            if not content or not isinstance(content, str):
                error("missing_content")
        if not any(message.get("role") == "assistant" for message in messages):
            error("example_missing_assistant_message")
    return errors


def _ours(path: Path) -> dict[str, Any]:
    from shared.validation import ValidationConfig, validate_path  # noqa: PLC0415
    from shared.validation.tokens import default_token_counter  # noqa: PLC0415

    default_token_counter(None)  # load the encoding before the clock starts, as the baseline does
    config = ValidationConfig(base_model="Phi-3-mini-4k-instruct", context_length=4096, max_file_bytes=1 << 40)
    started, cpu_started = time.perf_counter(), time.process_time()
    report = validate_path(path, config)
    return {
        "seconds": time.process_time() - cpu_started,
        "wall_seconds": time.perf_counter() - started,
        "tokens": report.stats.total_tokens,
        "examples": report.stats.examples,
        "errors": sum(report.error_counts.values()),
        "warnings": sum(report.warning_counts.values()),
    }


def _measure(side: str, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.validation", "--side", side, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def run() -> BenchmarkResult:
    """Generate the file, measure both sides, and compare."""
    size_mb = float(os.environ.get("VALIDATION_BENCH_MB", "200"))
    with tempfile.TemporaryDirectory(prefix="validation-bench-") as folder:
        path = Path(folder) / "generated.jsonl"
        started = time.perf_counter()
        examples = generate(path, size_mb)
        generation_s = time.perf_counter() - started
        megabytes = path.stat().st_size / 1_000_000
        # Alternate the sides and keep each side's best run: a busy machine slows whichever runs at a bad moment.
        runs = [(_measure("ours", path), _measure("baseline", path)) for _ in range(_RUNS)]
        ours = min((run[0] for run in runs), key=lambda measured: float(measured["seconds"]))
        baseline = min((run[1] for run in runs), key=lambda measured: float(measured["seconds"]))
        ours["peak_rss_mb"] = max(float(run[0]["peak_rss_mb"]) for run in runs)
        baseline["peak_rss_mb"] = max(float(run[1]["peak_rss_mb"]) for run in runs)
    throughput = megabytes / ours["seconds"]
    baseline_throughput = megabytes / baseline["seconds"]
    return BenchmarkResult(
        figures={
            "file_mb": round(megabytes, 1),
            "runs_per_side": _RUNS,
            "examples": examples,
            "generation_s": round(generation_s, 2),
            "throughput_mb_s": round(throughput, 2),
            "baseline_mb_s": round(baseline_throughput, 2),
            "speedup": round(throughput / baseline_throughput, 2),
            "wall_mb_s": round(megabytes / ours["wall_seconds"], 2),
            "baseline_wall_mb_s": round(megabytes / baseline["wall_seconds"], 2),
            "peak_rss_mb": round(ours["peak_rss_mb"], 1),
            "baseline_peak_rss_mb": round(baseline["peak_rss_mb"], 1),
            "tokens": ours["tokens"],
            "baseline_tokens": baseline["tokens"],
            "token_difference": round(abs(ours["tokens"] - baseline["tokens"]) / baseline["tokens"], 4),
            "errors": ours["errors"],
            "warnings": ours["warnings"],
        },
        targets=[
            Target("speedup", ">=", 3),
            Target("peak_rss_mb", "<=", 200),
            Target("errors", "==", 0),
            Target("token_difference", "<=", 0.01),
        ],
    )


def _side_main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.validation")
    parser.add_argument("--side", choices=["ours", "baseline"], required=True)
    parser.add_argument("file", type=Path)
    args = parser.parse_args()
    measured = _ours(args.file) if args.side == "ours" else _baseline(args.file)
    measured["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(measured))


if __name__ == "__main__":
    _side_main()
