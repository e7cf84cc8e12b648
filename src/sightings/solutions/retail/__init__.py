"""Retail seller analytics: who sells, whom they serve, what it earns — from the CCTV files a store already has.

sightings.solutions.retail.inputs        folder of MP4s → store, camera, start time (file name or sidecar)
sightings.solutions.retail.config        RetailConfig (pydantic, extra="forbid"): sampling, zones, thresholds
sightings.solutions.retail.zones         per-camera polygons, foot point in zone, drawing over a snapshot
sightings.solutions.retail.trajectories  per-track points with their zone
sightings.solutions.retail.roles         sellers (counter evidence, else the longest-present track), customers
sightings.solutions.retail.interactions  seller–customer episodes
sightings.solutions.retail.purchases     receipts CSV, join at the checkout, successful interactions
sightings.solutions.retail.metrics       per seller/hour metrics (long format) and day summaries
sightings.solutions.retail.pipeline      one video → warehouse rows (replace-by-run); a folder; the day report
sightings.solutions.retail.batch         the ``retail`` batch job
"""
