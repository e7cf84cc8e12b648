"""Embedders and local-feature matchers for re-identification.

- :mod:`~sightings.vision.embed.local_features`: ``RootSiftMatcher`` (RootSIFT + ratio test + RANSAC; weights-free);
- :mod:`~sightings.vision.embed.global_descriptor`: ``ColorTextureEmbedder`` (HSV colour + LBP texture, first-stage
  kNN; weights-free);
- :mod:`~sightings.vision.embed.onnx_embedder`: ``OnnxEmbedder`` (OSNet / MegaDescriptor / CLIP / DINOv2 exports from
  the models directory).

Reach them through :data:`sightings.core.registry.EMBEDDERS` and ``LOCAL_MATCHERS``; nothing heavy is imported here.
"""
