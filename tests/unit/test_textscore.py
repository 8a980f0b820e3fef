from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.textscore import longest_common_subsequence, rouge_l, score, token_f1, tokenize


def test_tokenize_lowercases_and_drops_punctuation() -> None:
    assert tokenize("Restart your Xbox, then try again!") == ["restart", "your", "xbox", "then", "try", "again"]


def test_identical_texts_score_one_and_disjoint_texts_score_zero() -> None:
    for metric in (token_f1, rouge_l):
        assert metric("Hold the power button.", "hold the power button") == 1.0
        assert metric("apples and pears", "restart the console") == 0.0


def test_token_f1_matches_a_hand_computed_value() -> None:
    # prediction 4 tokens, reference 6 tokens, 3 shared: P = 3/4, R = 3/6, F1 = 2PR/(P+R) = 0.6
    assert token_f1("restart the xbox now", "please restart the xbox console today") == pytest.approx(0.6)


def test_token_f1_counts_repeats_only_as_often_as_the_reference_has_them() -> None:
    # "the" x3 vs "the" x1: overlap 1, P = 1/3, R = 1/1 -> F1 = 0.5
    assert token_f1("the the the", "the") == pytest.approx(0.5)


def test_rouge_l_rewards_order_where_token_f1_does_not() -> None:
    reference = "turn the console off and on"
    shuffled = "on and off console the turn"
    assert token_f1(shuffled, reference) == 1.0
    assert rouge_l(shuffled, reference) < 0.5


def test_rouge_l_matches_a_hand_computed_value() -> None:
    # LCS("a b c d e", "a x c y e") = "a c e" = 3; P = R = 3/5 -> F = 0.6
    assert rouge_l("a b c d e", "a x c y e") == pytest.approx(0.6)


def test_empty_texts() -> None:
    assert token_f1("", "") == 1.0
    assert rouge_l("...", "") == 1.0
    assert token_f1("", "something") == 0.0
    assert rouge_l("something", "") == 0.0


def test_score_dispatches_by_metric_name() -> None:
    assert score("token_f1", "a b", "a c") == token_f1("a b", "a c")
    assert score("rouge_l", "a b", "a c") == rouge_l("a b", "a c")


words = st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=12)


@given(words, words)
def test_lcs_is_symmetric_and_bounded(left: list[str], right: list[str]) -> None:
    length = longest_common_subsequence(left, right)
    assert length == longest_common_subsequence(right, left)
    assert 0 <= length <= min(len(left), len(right))


@given(words, words)
def test_scores_stay_in_the_unit_interval_and_are_symmetric(left: list[str], right: list[str]) -> None:
    prediction, reference = " ".join(left), " ".join(right)
    for metric in (token_f1, rouge_l):
        value = metric(prediction, reference)
        assert 0.0 <= value <= 1.0
        assert value == pytest.approx(metric(reference, prediction))
