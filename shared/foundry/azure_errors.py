"""Azure SDK exceptions turned into the service's `TransientError` / `PermanentError`.

Transient: throttling (429), request time-out (408), server errors (5xx), and no answer at all
(connection failures and read time-outs). Everything else is permanent and says, in one line, what
was being done and what Azure answered. Messages carry Azure's error code and message only, never
a header or a response body, so a key cannot end up in one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from azure.ai.ml.exceptions import MlException
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from shared.errors import OrchestratorError, PermanentError, TransientError

TRANSIENT_STATUS_CODES: Final = frozenset({408, 429, *range(500, 600)})
_MAX_DETAIL: Final = 300


def is_not_found(error: BaseException) -> bool:
    """Whether `error` is Azure saying the resource does not exist."""
    return isinstance(error, ResourceNotFoundError) or (
        isinstance(error, HttpResponseError) and error.status_code == 404
    )


def describe(error: HttpResponseError) -> str:
    """`HTTP <status> <code>: <message>` on one line, from Azure's error body when it had one."""
    detail = error.error
    code = detail.code if detail is not None and detail.code else None
    text = detail.message if detail is not None and detail.message else (error.reason or "")
    first_line = " ".join(str(text).split())[:_MAX_DETAIL]
    status = f"HTTP {error.status_code}" if error.status_code is not None else "no HTTP status"
    return " ".join(part for part in (status, code and f"{code}:", first_line) if part)


def translate(operation: str, error: Exception) -> OrchestratorError:
    """The service's exception for an SDK `error` raised while doing `operation` (a phrase, e.g. "reading job x")."""
    if isinstance(error, ClientAuthenticationError):
        return PermanentError(
            f"{operation}: Azure refused the credentials ({describe(error)}); the identity needs the "
            "Azure AI Developer role on the AI Foundry project's resource group"
        )
    if isinstance(error, HttpResponseError):
        fault = TransientError if error.status_code in TRANSIENT_STATUS_CODES else PermanentError
        return fault(f"{operation}: {describe(error)}")
    if isinstance(error, ServiceRequestError | ServiceResponseError):
        return TransientError(f"{operation}: no answer from Azure ({type(error).__name__})")
    if isinstance(error, MlException):
        message = " ".join(str(error.message).split())[:_MAX_DETAIL]
        return PermanentError(f"{operation}: {message}")
    return PermanentError(f"{operation}: unexpected {type(error).__name__} from the Azure SDK")


@contextmanager
def translated_errors(operation: str) -> Iterator[None]:
    """Re-raise Azure SDK exceptions inside the block as `TransientError` / `PermanentError`."""
    try:
        yield
    except OrchestratorError:
        raise
    except (HttpResponseError, ServiceRequestError, ServiceResponseError, MlException) as error:
        raise translate(operation, error) from error
