from __future__ import annotations

import pytest

from shared.errors import InvalidOptionsError
from shared.runs import RUN_ID_PATTERN, check_blob_name, family_for, resolve_options, run_id_for, slugify
from shared.settings import Settings


def test_run_id_is_deterministic_per_blob_version_and_safe_as_an_instance_id() -> None:
    first = run_id_for("training-data", "Teams/Xbox Support (v2).jsonl", '"0x8DC1"')
    assert first == run_id_for("training-data", "Teams/Xbox Support (v2).jsonl", "0x8DC1")
    assert first != run_id_for("training-data", "Teams/Xbox Support (v2).jsonl", '"0x8DC2"')
    assert first.startswith("ft-xbox-support-v2-")
    assert RUN_ID_PATTERN.match(first)
    assert not set(first) & set("/\\?#")


@pytest.mark.parametrize("name", ["a/" * 600 + "x.jsonl", "ÆØÅ 🚀.jsonl", "..jsonl"])
def test_run_ids_of_odd_names_stay_short_and_plain(name: str) -> None:
    run_id = run_id_for("training-data", name, "0x1")
    assert RUN_ID_PATTERN.match(run_id), run_id
    assert len(run_id) <= 3 + 40 + 1 + 12


@pytest.mark.parametrize(
    "name", ["../escape.jsonl", "/abs.jsonl", "a\\b.jsonl", "bad\x00name.jsonl", "line\nbreak.jsonl", "x" * 1025, ""]
)
def test_hostile_blob_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidOptionsError):
        check_blob_name(name)


def test_family_is_the_first_folder_else_the_stem() -> None:
    assert family_for("Xbox/2026/support.jsonl") == "xbox"
    assert family_for("support-set.jsonl") == "support-set"
    assert slugify("---") == "run"


def test_options_merge_defaults_and_overrides_with_clear_errors() -> None:
    settings = Settings()
    options = resolve_options(settings, "xbox/a.jsonl", {"epochs": "5", "require_approval": "true"})
    assert options.epochs == 5
    assert options.require_approval is True
    assert options.family == "xbox"
    with pytest.raises(InvalidOptionsError, match="epochs"):
        resolve_options(settings, "xbox/a.jsonl", {"epochs": "0"})
    with pytest.raises(InvalidOptionsError, match="known options"):
        resolve_options(settings, "xbox/a.jsonl", {"epoch": "3"})
    with pytest.raises(InvalidOptionsError, match="family"):
        resolve_options(settings, "xbox/a.jsonl", {"family": "Bad Family!"})
