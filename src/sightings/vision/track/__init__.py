"""Multi-object trackers, each implementing :class:`sightings.core.protocols.Tracker`.

- :mod:`~sightings.vision.track.botsort` — ``BotSortTracker`` (registry ``botsort``, the default): roboflow
  ``trackers`` BoT-SORT (score-fused IoU, unconfirmed-track stage, optional camera-motion compensation) with an
  appearance gate of our own (HSV colour histogram of the box crop, cosine similarity) added on top.
- :mod:`~sightings.vision.track.bytetrack` — ``ByteTrackTracker`` (registry ``bytetrack``): ``trackers`` ByteTrack
  behind our types, lost-track buffer in seconds, time-stamped updates so a frame stride (1 analysis fps on 25 fps
  video) does not break tracks; the adapter the others build on.
- :mod:`~sightings.vision.track.ocsort` — ``OcSortTracker`` (registry ``ocsort``): ``trackers`` OC-SORT.

Offline clean-up of finished tracks: :mod:`~sightings.vision.track.consistency` cuts tracks where a backward
tracking pass disagrees (identity swaps), :mod:`~sightings.vision.track.linking` re-joins broken tracks (motion, size,
colour; Hungarian assignment), then :mod:`~sightings.vision.track.postprocess` fills short gaps and smooths boxes.

Create them by name through ``sightings.core.registry.TRACKERS``; this package imports nothing heavy itself.
"""

TRACKING_VERSION = 4
"""The version of what turns detections into tracks: the trackers, linking, gap filling and smoothing.

Bump it when a code change gives other tracks for the same settings. It is part of the ``track`` and ``retail`` jobs'
config and of ``retail run``'s resume key, so videos finished with the old code are analysed again instead of being
mixed with new ones. ``tests/integration/test_tracking_version.py`` keeps the tracks of a fixed scene per version
and fails until it is bumped. Settings and backend defaults are in those keys already; this covers the code.

1: 2026-11-30 (two-stage linking with a second-stage gate that stops widening after ``short_gap_s``).
2: 2026-11-30, later (tracks cut where a backward tracking pass disagrees, before linking: ``backward_hold`` 3).
3: 2026-11-30, evening (at analysed steps of 2 s or more the backward pass also vetoes links:
   ``backward_veto_step_s``; denser analysis gives the tracks of version 2).
4: 2026-11-30, 18:04 (at analysed steps of 2 s or more BoT-SORT's colour gate reads the pixels that differ from the
   camera's learnt background: ``appearance_foreground_step_s``; denser analysis again unchanged. The golden scenes'
   flat backgrounds do not show it: ``tests/integration/test_trackers.py`` checks it).
"""
