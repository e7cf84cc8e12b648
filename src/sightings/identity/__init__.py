"""Identity engine: galleries (vector stores), the catalog (metadata store), matching and calibration."""
