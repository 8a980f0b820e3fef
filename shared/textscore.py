"""Small reference-answer similarity scores for the smoke test: token F1 and ROUGE-L (F-measure).

Both work on lower-cased word tokens (Unicode letters and digits), return a value in [0, 1], and give
1.0 for two empty texts (nothing expected, nothing said) and 0.0 when only one side is empty.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Final, Literal

ScoreMetric = Literal["token_f1", "rouge_l"]

_TOKEN: Final = re.compile(r"\w+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens of `text` (punctuation and whitespace dropped)."""
    return _TOKEN.findall(text.lower())


def _f_measure(overlap: int, predicted: int, expected: int) -> float:
    if overlap == 0:
        return 0.0
    precision = overlap / predicted
    recall = overlap / expected
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, reference: str) -> float:
    """Harmonic mean of token precision and recall, counting repeated tokens (SQuAD-style F1)."""
    predicted, expected = tokenize(prediction), tokenize(reference)
    if not predicted or not expected:
        return float(predicted == expected)
    overlap = sum((Counter(predicted) & Counter(expected)).values())
    return _f_measure(overlap, len(predicted), len(expected))


def longest_common_subsequence(left: Sequence[str], right: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (dynamic programming, one row kept)."""
    previous = [0] * (len(right) + 1)
    for token in left:
        current = [0]
        for index, other in enumerate(right):
            current.append(previous[index] + 1 if token == other else max(previous[index + 1], current[index]))
        previous = current
    return previous[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F-measure (beta = 1): token-order-aware overlap via the longest common subsequence."""
    predicted, expected = tokenize(prediction), tokenize(reference)
    if not predicted or not expected:
        return float(predicted == expected)
    return _f_measure(longest_common_subsequence(predicted, expected), len(predicted), len(expected))


SCORERS: Final[dict[ScoreMetric, Callable[[str, str], float]]] = {"token_f1": token_f1, "rouge_l": rouge_l}


def score(metric: ScoreMetric, prediction: str, reference: str) -> float:
    """The named metric of `prediction` against `reference`."""
    return SCORERS[metric](prediction, reference)
