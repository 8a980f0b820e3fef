"""A small generated chat dataset (console support questions), for tests and benchmarks without a file."""

from __future__ import annotations

import json
import random
from pathlib import Path

SYSTEM_PROMPT = "You are a helpful Xbox support assistant. Answer briefly."

_DEVICES = ["controller", "headset", "console", "Kinect sensor", "media remote", "charging dock"]
_PROBLEMS = {
    "will not turn on": "Hold the Xbox button for 10 seconds, unplug the {device} for a minute, then try again.",
    "keeps disconnecting": "Move the {device} closer to the console and update its firmware in Settings.",
    "has no sound": "Check the volume on the {device}, then open Settings > Audio and pick the right output.",
    "is not recognised": "Reconnect the {device} with a USB cable and restart the console.",
    "needs an update": "Open Settings > Devices, select the {device} and choose Update now.",
}


def generate_examples(count: int, seed: int = 0) -> list[dict[str, object]]:
    """`count` distinct chat examples (system, user, assistant), in a seeded order."""
    pairs = [(device, problem) for device in _DEVICES for problem in _PROBLEMS]
    random.Random(seed).shuffle(pairs)  # noqa: S311 (test data, not cryptography)
    examples: list[dict[str, object]] = []
    for index in range(count):
        device, problem = pairs[index % len(pairs)]
        suffix = "" if index < len(pairs) else f" (ticket {index})"
        examples.append(
            {
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": f"My {device} {problem}{suffix}. What should I do?"},
                    {"role": "assistant", "content": _PROBLEMS[problem].format(device=device)},
                ]
            }
        )
    return examples


def write_jsonl(path: Path, examples: list[dict[str, object]]) -> Path:
    """Write examples as JSONL and return the path."""
    path.write_text("".join(json.dumps(example) + "\n" for example in examples), encoding="utf-8")
    return path
