"""Running it for real: health, readiness and metrics, and the service manager."""
