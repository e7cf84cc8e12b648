"""Video content features: segmenter, feature modules, versioned artifacts with schemas, validators.

sightings.solutions.content.scan       one decoding pass: per-frame features + analysis frames
sightings.solutions.content.cuts       hard cuts + gradual transitions with confidence
sightings.solutions.content.spec       module registry: name, version, inputs, output schema
sightings.solutions.content.modules    visual, semantic and audio modules
sightings.solutions.content.pipeline   run_content(video, platform, video_id) -> run folder
sightings.solutions.content.artifacts  manifest.json + one NPZ per module, written atomically
sightings.solutions.content.validate   contract and quality validators
sightings.solutions.content.timeline   PNG timeline of shots, energy, loudness
sightings.solutions.content.batch      the ``content`` batch job
"""
