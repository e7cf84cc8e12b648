"""Retail seller analytics: who sells, whom they serve, what it earns — from the CCTV files a store already has.

sightings.solutions.retail.inputs        folder of MP4s → store, camera, start time (file name or sidecar)
sightings.solutions.retail.archive       camera-archive client (Ivideon-style REST): list a day, download safely
sightings.solutions.retail.config        RetailConfig (pydantic, extra="forbid"): sampling, zones, thresholds
sightings.solutions.retail.zones         per-camera polygons, foot point in zone, floor plane, drawing
sightings.solutions.retail.trajectories  per-track points with their zone
sightings.solutions.retail.schedule      shift schedule (CSV / Google Sheets CSV export)
sightings.solutions.retail.roles         sellers (counter evidence, schedule, longest-present), customers
sightings.solutions.retail.interactions  seller–customer episodes (pixels or floor metres; never across a gap)
sightings.solutions.retail.purchases     receipts CSV, join at the checkout, successful interactions
sightings.solutions.retail.metrics       per seller/hour metrics (long format) and day summaries
sightings.solutions.retail.gaps          recording gaps inside and between files
sightings.solutions.retail.health        frame statistics → camera health and drift alerts, baselines
sightings.solutions.retail.pipeline      one video → analysis → warehouse rows (replace-by-run)
sightings.solutions.retail.folder_run    a folder of videos: resume by content hash, gaps, alerts
sightings.solutions.retail.reports       reading the warehouse back: day report, alerts, dashboard data
sightings.solutions.retail.cvat          CVAT export (MOT 1.1 / CVAT XML) and ground-truth import
sightings.solutions.retail.batch         the ``retail`` batch job
"""
