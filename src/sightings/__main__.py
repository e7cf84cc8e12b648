"""``python -m sightings`` runs the CLI."""

from sightings.cli import main

main()
