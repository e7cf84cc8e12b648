#!/bin/sh
# Container entrypoint of the sightings API (also runnable on a host: it needs only `sightings` on PATH).
#   entrypoint.sh [serve]   verify the mounted models, migrate the catalog, then serve on 0.0.0.0:8000
#   entrypoint.sh check     the same checks, then exit (used by tests and as a readiness probe)
# Everything is offline: models come from the mounted $SIGHTINGS_MODELS_DIR, nothing is downloaded.
set -eu

SIGHTINGS="${SIGHTINGS_BIN:-sightings}"
MODELS_DIR="${SIGHTINGS_MODELS_DIR:-/models}"
export SIGHTINGS_MODELS_DIR="$MODELS_DIR"
mode="${1:-serve}"

if [ ! -d "$MODELS_DIR" ]; then
  echo "entrypoint: models dir $MODELS_DIR is not mounted (mount it read-only at /models)" >&2
  exit 3
fi
# checksums of every installed model (exit 6 on a mismatch); an empty dir is fine: the gate then skips the detector
"$SIGHTINGS" models verify >&2
# open the catalog and the wildlife tables once: runs their Alembic migrations (SQLite file or PostgreSQL URL)
"$SIGHTINGS" wildlife drift --json >/dev/null
echo "entrypoint: models verified, catalog migrated (models: $MODELS_DIR)" >&2

case "$mode" in
  check) exit 0 ;;
  serve) exec "$SIGHTINGS" serve --host "${SIGHTINGS_SERVER__HOST:-0.0.0.0}" --port "${SIGHTINGS_SERVER__PORT:-8000}" ;;
  *) echo "entrypoint: unknown mode $mode (serve | check)" >&2; exit 2 ;;
esac
