"""Run identity and run options (DESIGN section 4).

The orchestration instance id is the run id: `ft-<slug of the file stem>-<12 hex>`, the hex being the start of
`sha256("<container>/<blob name>@<etag>")`. The same blob event delivered twice gives the same id; a re-upload
(new ETag) gives a new one. Options come from settings, overridden per file by blob metadata `ft_<option>` or by
the body of `POST /api/runs`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.catalog import base_model_spec
from shared.errors import InvalidOptionsError
from shared.etags import quoted_etag
from shared.names import OPTION_METADATA_PREFIX
from shared.settings import Settings

MAX_SLUG_CHARS = 40
MAX_BLOB_NAME_CHARS = 1024
RUN_ID_PATTERN = re.compile(r"^ft-[a-z0-9-]{1,40}-[0-9a-f]{12}(-r[0-9]{1,3})?$")
_FAMILY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_SUFFIX_PATTERN = re.compile(r"^[A-Za-z0-9-]{1,32}$")


def slugify(text: str, max_chars: int = MAX_SLUG_CHARS) -> str:
    """Lower-case ASCII letters, digits and single dashes; never empty (`run` when nothing is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:max_chars].strip("-")
    return slug or "run"


def check_blob_name(name: str) -> None:
    """Refuse blob names that cannot start a run safely (traversal, control characters, excessive length)."""
    if not name or len(name) > MAX_BLOB_NAME_CHARS:
        raise InvalidOptionsError(f"blob name must be 1 to {MAX_BLOB_NAME_CHARS} characters, got {len(name)}")
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise InvalidOptionsError(f"blob name {name!r} contains control characters")
    # Split by hand: PurePosixPath drops "." and empty segments, which URL handling may resolve differently.
    if "\\" in name or any(segment in {"", ".", ".."} for segment in name.split("/")):
        raise InvalidOptionsError(f"blob name {name!r} is not a plain relative path")


def run_id_for(container: str, blob_name: str, etag: str) -> str:
    """The deterministic run (instance) id of one upload, identified by container, name and ETag.

    The ETag is taken in its quoted header form (listings return it bare), so every caller agrees.
    """
    stem = PurePosixPath(blob_name).stem
    digest = hashlib.sha256(f"{container}/{blob_name}@{quoted_etag(etag)}".encode()).hexdigest()[:12]
    return f"ft-{slugify(stem)}-{digest}"


def family_for(blob_name: str) -> str:
    """The model family (promotion alias) of an upload: its first folder, else its stem."""
    parts = PurePosixPath(blob_name).parts
    return slugify(parts[0] if len(parts) > 1 else PurePosixPath(blob_name).stem)


class RunOptions(BaseModel):
    """The options of one run, after defaults and per-file overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_model: str
    epochs: int = Field(ge=1, le=50)
    learning_rate: float = Field(gt=0, le=1)
    batch_size: int = Field(ge=1, le=256)
    suffix: str | None = None
    family: str
    validation_blob: str | None = None
    validation_split: float = Field(gt=0, lt=0.5)
    require_approval: bool
    max_training_hours: float = Field(gt=0, le=720)

    @field_validator("base_model")
    @classmethod
    def _known_base_model(cls, value: str) -> str:
        return base_model_spec(value).name

    @field_validator("family")
    @classmethod
    def _family_shape(cls, value: str) -> str:
        if not _FAMILY_PATTERN.match(value):
            raise ValueError("must be 1-40 lower-case letters, digits or dashes, starting with a letter or digit")
        return value

    @field_validator("suffix")
    @classmethod
    def _suffix_shape(cls, value: str | None) -> str | None:
        if value is not None and not _SUFFIX_PATTERN.match(value):
            raise ValueError("must be 1-32 letters, digits or dashes")
        return value

    @field_validator("validation_blob")
    @classmethod
    def _validation_blob_shape(cls, value: str | None) -> str | None:
        if value is not None:
            check_blob_name(value)
        return value


OPTION_NAMES: tuple[str, ...] = tuple(RunOptions.model_fields)


def default_options(settings: Settings, family: str) -> dict[str, Any]:
    """The options a run gets when nothing overrides them."""
    return {
        "base_model": settings.default_base_model,
        "epochs": settings.default_epochs,
        "learning_rate": settings.default_learning_rate,
        "batch_size": settings.default_batch_size,
        "suffix": None,
        "family": family,
        "validation_blob": None,
        "validation_split": settings.default_validation_split,
        "require_approval": settings.default_require_approval,
        "max_training_hours": settings.default_max_training_hours,
    }


def overrides_from_metadata(metadata: dict[str, str]) -> dict[str, str]:
    """The `ft_<option>` entries of blob metadata, keyed by option name (case-insensitive keys)."""
    prefix = OPTION_METADATA_PREFIX
    return {key[len(prefix) :].lower(): value for key, value in metadata.items() if key.lower().startswith(prefix)}


def resolve_options(settings: Settings, blob_name: str, overrides: dict[str, Any]) -> RunOptions:
    """Defaults from settings, then the overrides; a bad or unknown option raises `InvalidOptionsError`."""
    unknown = sorted(set(overrides) - set(OPTION_NAMES))
    if unknown:
        known = ", ".join(OPTION_NAMES)
        raise InvalidOptionsError(f"unknown option(s) {', '.join(unknown)}; known options: {known}")
    merged = {**default_options(settings, family_for(blob_name)), **overrides}
    try:
        return RunOptions.model_validate(merged)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in issue['loc']) or 'options'}: {issue['msg']}" for issue in error.errors()
        )
        raise InvalidOptionsError(f"bad run option(s): {problems}") from None
