"""The Functions app: the `DFApp` and the blueprints it is composed of, nothing else."""

from __future__ import annotations

import azure.durable_functions as df
import azure.functions as func

from orchestrations import activities, janitor, monitor, pipeline
from triggers import blob_starter, commands, http_api, janitor_timer

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (
    pipeline.bp,
    monitor.bp,
    janitor.bp,
    activities.bp,
    blob_starter.bp,
    http_api.bp,
    commands.bp,
    janitor_timer.bp,
):
    app.register_functions(blueprint)
