"""Building a running dashboard from addresses: used by the devhost component and `python -m devhost dashboard`."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import SecretStr

from devhost.dashboard import DEFAULT_DASHBOARD_PORT
from devhost.dashboard.app import DashboardApp
from devhost.dashboard.events import BrokerEventFeed, EventLog
from devhost.dashboard.reports import ReportReader
from devhost.dashboard.runs_api import HttpRunsApi
from devhost.dashboard.server import DashboardServer
from shared.storage import BlobStore


class RunningDashboard:
    """A dashboard server and its sources; `stop()` ends them all (safe to call twice)."""

    def __init__(self, server: DashboardServer, stops: list[Callable[[], None]]) -> None:
        self.server = server
        self._stops = stops

    @property
    def url(self) -> str:
        """Base URL of the dashboard."""
        return self.server.url

    def stop(self) -> None:
        """Stop the server, then the event reader and the API client."""
        while self._stops:
            self._stops.pop()()


def start_dashboard(
    api_url: str,
    *,
    store: BlobStore | None,
    reports_container: str,
    servicebus: SecretStr | None,
    secrets: tuple[SecretStr, ...] = (),
    api_key: SecretStr | None = None,
    port: int = DEFAULT_DASHBOARD_PORT,
    bind: str = "127.0.0.1",
) -> RunningDashboard:
    """Start the dashboard over the HTTP API at `api_url`, the reports in `store` and the events on `servicebus`.

    Without `store` the run page shows no reports; without `servicebus` it says it has no event source.
    A non-loopback `bind` or a busy port raises `ConfigurationError` before anything is started.
    """
    stops: list[Callable[[], None]] = []
    api = HttpRunsApi(api_url, api_key=api_key)
    stops.append(api.close)
    event_log: EventLog | None = None
    try:
        if servicebus is not None:
            event_log = EventLog()
            feed = BrokerEventFeed(servicebus, event_log)
        app = DashboardApp(
            api,
            ReportReader(store, reports_container),
            event_log,
            secrets=tuple(secret for secret in (*secrets, api_key, servicebus) if secret is not None),
        )
        server = DashboardServer(app, port=port, bind=bind).start()
        stops.append(server.stop)
        if servicebus is not None:
            stops.insert(1, feed.start().stop)
    except BaseException:
        while stops:
            stops.pop()()
        raise
    return RunningDashboard(server, stops)
