"""Running work over many inputs: executors, and the batch runner (lists, jobs, manifests, retries, resume)."""
