"""Performance benchmark of the gateway against a raw passthrough proxy (see bench/README.md)."""
