"""Multi-object trackers, each implementing :class:`sightings.core.protocols.Tracker`.

- :mod:`~sightings.vision.track.bytetrack` — ``ByteTrackTracker`` (registry ``bytetrack``, the default): roboflow
  ``trackers`` ByteTrack behind our types, lost-track buffer in seconds, time-stamped updates so a frame stride
  (1 analysis fps on 25 fps video) does not break tracks.
- :mod:`~sightings.vision.track.botsort` — ``BotSortTracker`` (registry ``botsort``): ``trackers`` BoT-SORT
  (score-fused IoU, unconfirmed-track stage, optional camera-motion compensation) with an appearance gate of our
  own (HSV colour histogram of the box crop, cosine similarity) added on top.

Offline clean-up of finished tracks: :mod:`~sightings.vision.track.linking` re-joins broken tracks (motion, size,
colour; Hungarian assignment), then :mod:`~sightings.vision.track.postprocess` fills short gaps and smooths boxes.

Create them by name through ``sightings.core.registry.TRACKERS``; this package imports nothing heavy itself.
"""
