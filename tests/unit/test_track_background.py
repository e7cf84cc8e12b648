"""The fixed camera's background, learnt while tracking: which frames it keeps, when it is ready, what it masks."""

from __future__ import annotations

import numpy as np

from sightings.vision.track.background import MIN_FRAMES, MIN_INTERVAL_S, BackgroundModel


def _scene(x: int, size: tuple[int, int] = (120, 200)) -> np.ndarray:
    """A striped floor (texture, so downscaling matters) and a red person 20 px wide at column ``x``."""
    h, w = size
    image = np.zeros((h, w, 3), np.uint8)
    image[:, :, 1] = 90 + 60 * ((np.arange(w) // 7) % 2)[None, :]
    image[20:100, x : x + 20] = (220, 30, 30)
    return image


def test_the_median_of_frames_seconds_apart_is_the_empty_scene() -> None:
    model = BackgroundModel()
    assert not model.ready
    assert model.foreground(_scene(10), 0, 0, 50, 50).all()  # no background yet: the whole crop counts
    for k, t in enumerate([0.0, 0.5, 1.0, MIN_INTERVAL_S, 2 * MIN_INTERVAL_S]):  # 0.5 s and 1 s are too soon
        model.update(_scene(10 + 40 * k), t)
    assert model.ready and len(model._ring) == MIN_FRAMES
    frame = _scene(150)
    mask = model.foreground(frame, 140, 10, 180, 110)  # the person at 150..170 and floor around them
    person = mask[10:90, 10:30]
    floor = np.concatenate([mask[:, :8], mask[:, 32:]], axis=1)
    assert person.mean() > 0.95 and floor.mean() < 0.05


def test_a_new_frame_size_starts_again_and_wide_frames_are_kept_small() -> None:
    model = BackgroundModel()
    for t in (0.0, 2.0, 4.0):
        model.update(_scene(10, size=(90, 1280)), t)
    assert model.ready and model._ring[0].shape[1] <= 320
    model.update(_scene(10), 6.0)  # another camera size: the ring starts again
    assert not model.ready and len(model._ring) == 1
