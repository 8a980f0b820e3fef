"""The blob trigger: an upload to `training-data` (Event Grid `BlobCreated` in Azure) starts a run."""

from __future__ import annotations

import logging

import azure.durable_functions as df
import azure.functions as func

from shared.bootstrap import services
from shared.errors import InvalidOptionsError
from shared.names import TRAINING_CONTAINER
from triggers.control import start_run

logger = logging.getLogger(__name__)
bp = df.Blueprint()


@bp.blob_trigger(
    arg_name="blob",
    path=f"{TRAINING_CONTAINER}/{{name}}",
    connection="AzureWebJobsStorage",
    source=func.BlobSource.EVENT_GRID,
)
@bp.durable_client_input(client_name="client")
async def start_run_from_upload(blob: func.InputStream, client: df.DurableOrchestrationClient) -> None:
    """Start the run of this upload (once per blob version).

    Bad `ft_*` options give a run rejected at validation; a name no run may carry is logged, not retried forever.
    """
    container, _, blob_name = (blob.name or "").partition("/")
    try:
        result = await start_run(client, services(), container or TRAINING_CONTAINER, blob_name)
    except InvalidOptionsError as error:
        logger.error("upload %r refused: %s", blob.name, error)
        return
    logger.info("upload %r: %s %s", blob.name, result.outcome.value, result.run_id or result.detail)
