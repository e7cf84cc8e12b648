"""Popularity: a dataset from content runs + snapshots, GBM models per metric × horizon, prediction JSON.

sightings.solutions.popularity.schema         versions, metrics, horizons, age buckets, column names
sightings.solutions.popularity.tables         CSV / Parquet reading with row- and column-named errors
sightings.solutions.popularity.snapshots      snapshots + video metadata: parse, sort, de-duplicate, count
sightings.solutions.popularity.channels       channel index (CSV), as-of lookup without leakage
sightings.solutions.popularity.youtube_client optional YouTube Data API channel client (httpx)
sightings.solutions.popularity.features       content aggregations (manifest + NPZ) and the feature row
sightings.solutions.popularity.targets        value at a horizon from irregular snapshots, log1p deltas
sightings.solutions.popularity.dataset        build + write/read the deterministic dataset Parquet
sightings.solutions.popularity.splits         time-ordered channel-group split
sightings.solutions.popularity.baseline       naive baseline: median growth by video-age bucket
sightings.solutions.popularity.scoring        MAE, RMSE, Spearman, overall and by age bucket
sightings.solutions.popularity.regressors     LightGBM (default) / CatBoost backends behind one protocol
sightings.solutions.popularity.train          training run: one model per target × horizon, conformal intervals
sightings.solutions.popularity.artifacts      artifacts/<run_id>/ layout, schema-version check on load
sightings.solutions.popularity.plots          PNG plots (Matplotlib Agg)
sightings.solutions.popularity.predict        prediction JSON from a content run
sightings.solutions.popularity.synthetic      generated runs + snapshots + videos + channels with a planted signal
"""
