"""The ops dashboard: a runs page and a run page in the browser, served on 127.0.0.1 by the devhost.

Data comes from the app's own HTTP API (so it works against any deployment of it), the run's report
blobs and the run events the devhost reads from its `devhost-events` subscription.
"""

from __future__ import annotations

from devhost.dashboard.app import DashboardApp
from devhost.dashboard.events import BrokerEventFeed, EventLog
from devhost.dashboard.server import DEFAULT_DASHBOARD_PORT, DashboardServer

__all__ = ["DEFAULT_DASHBOARD_PORT", "BrokerEventFeed", "DashboardApp", "DashboardServer", "EventLog"]
