"""Collecting findings with a per-code cap, so that a million bad lines still give a small report."""

from __future__ import annotations

from shared.validation.report import Finding


class FindingCollector:
    """Keeps the first `cap` findings of each code and counts every one."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self.listed: list[Finding] = []
        self.counts: dict[str, int] = {}

    def add(self, code: str, line: int | None, message: str) -> None:
        """Record a finding (listed only while its code is under the cap)."""
        seen = self.counts.get(code, 0)
        self.counts[code] = seen + 1
        if seen < self._cap:
            self.listed.append(Finding(code=code, line=line, message=message))

    def __bool__(self) -> bool:
        return bool(self.counts)

    def has(self, code: str) -> bool:
        """Whether a finding of this code was recorded."""
        return code in self.counts
