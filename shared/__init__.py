"""The service's own logic and its adapters to the outside (storage, bus, foundry, telemetry)."""
