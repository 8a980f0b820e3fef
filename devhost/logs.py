"""Logging for the devhost's long-running commands: our own lines, not every library's every request."""

from __future__ import annotations

import logging

# The Azure SDKs, httpx (the dashboard asks the API every 2 s) and the foundry's server log every request,
# proton every connection: too much to watch.
NOISY_LOGGERS = ("azure", "httpx", "proton", "werkzeug")


def configure_devhost_logging(level: int = logging.INFO) -> None:
    """Root logging at `level`, the chatty libraries at WARNING."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
