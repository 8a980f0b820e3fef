"""Everything that stands in for Azure on one machine, and the CLI `python -m devhost`."""
