"""Fine-tuning and deployment backends: the `FineTuningBackend` port and its adapters."""
