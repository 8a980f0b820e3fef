"""The ops dashboard: a runs page and a run page in the browser, served on 127.0.0.1 by the devhost.

Data comes from the app's own HTTP API (so it works against any deployment of it), the run's report
blobs and the run events the devhost reads from its `devhost-events` subscription. The parts are in
`app`, `server`, `events` and `wiring`; this package imports none of them, so the command line stays quick.
"""

DEFAULT_DASHBOARD_PORT = 7080
