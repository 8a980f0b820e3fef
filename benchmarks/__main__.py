"""`python -m benchmarks NAME [NAME ...]` or `python -m benchmarks all`."""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from pathlib import Path

import benchmarks
from benchmarks.result import BenchmarkResult

_NOT_BENCHMARKS = {"result", "__main__"}


def available() -> list[str]:
    """Names of the benchmark modules in this package."""
    found = pkgutil.iter_modules([str(Path(benchmarks.__file__).parent)])
    return sorted(m.name for m in found if m.name not in _NOT_BENCHMARKS and not m.name.startswith("_"))


def main() -> int:
    """Run the named benchmarks; exit 1 when one misses a target."""
    names = available()
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("names", nargs="+", metavar="NAME", help=f"one of: {', '.join(names)}, or all")
    args = parser.parse_args()
    chosen = names if args.names == ["all"] else args.names
    unknown = [name for name in chosen if name not in names]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from: {', '.join(names)}")
    all_met = True
    for name in chosen:
        result: BenchmarkResult = importlib.import_module(f"benchmarks.{name}").run()
        summary = result.summary()
        all_met = all_met and bool(summary["targets_met"])
        print(json.dumps({"benchmark": name, **summary}), flush=True)
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
