"""Summaries of per-example numbers, and the cost estimate."""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

from shared.validation.config import ValidationConfig
from shared.validation.report import CostEstimate, Distribution


def distribution(values: Sequence[int] | array[int]) -> Distribution:
    """Count, min, max, mean and nearest-rank percentiles of the values."""
    if not values:
        return Distribution()
    ordered = sorted(values)
    count = len(ordered)

    def rank(share: float) -> int:
        return ordered[max(0, math.ceil(share * count) - 1)]

    return Distribution(
        count=count,
        min=ordered[0],
        max=ordered[-1],
        mean=round(sum(ordered) / count, 2),
        p50=rank(0.50),
        p90=rank(0.90),
        p95=rank(0.95),
    )


def estimate_cost(billable_tokens: int, config: ValidationConfig, *, exact: bool) -> CostEstimate:
    """Training cost from billable tokens and the price table; hosting per day for one deployment."""
    return CostEstimate(
        billable_tokens=billable_tokens,
        price_training_per_1k_tokens=config.price_training_per_1k_tokens,
        training=round(billable_tokens / 1000 * config.price_training_per_1k_tokens, 4),
        price_hosting_per_hour=config.price_hosting_per_hour,
        hosting_per_day=round(24 * config.price_hosting_per_hour, 4),
        token_count_exact=exact,
    )
