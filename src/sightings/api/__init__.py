"""HTTP API and web UI: one FastAPI app, one router per solution."""
