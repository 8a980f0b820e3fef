"""Errors the foundry's HTTP API answers with, each with its status code."""

from __future__ import annotations


class FoundryError(Exception):
    """A request the foundry refuses; `status` is the HTTP status it answers with."""

    status = 400
    code = "BadRequest"


class NotFoundError(FoundryError):
    """The named job, model or deployment does not exist."""

    status = 404
    code = "NotFound"


class ConflictError(FoundryError):
    """The request contradicts the resource's state (e.g. deploying an archived model)."""

    status = 409
    code = "Conflict"
