"""Running work over many inputs: executors (and later manifests, retries, resume)."""
