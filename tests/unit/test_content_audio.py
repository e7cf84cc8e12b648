"""Audio features on generated signals: tempo (vs librosa where installed), loudness, speech/music/silence."""

from __future__ import annotations

import numpy as np
import pytest

from sightings.solutions.content.modules.audio import onset_envelope, tempo_bpm
from sightings.solutions.content.synthetic import click_track


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
def test_tempo_of_click_tracks(bpm: float) -> None:
    y = click_track(12.0, bpm, 22050)
    env = onset_envelope(y, 22050)
    found, strength = tempo_bpm(env, 22050 / 512)
    assert abs(found - bpm) < 2.5 and 0.2 < strength <= 1.0


def test_tempo_of_silence_is_zero() -> None:
    env = onset_envelope(np.zeros(22050 * 3, np.float32), 22050)
    assert tempo_bpm(env, 22050 / 512) == (0.0, 0.0)


@pytest.mark.slow
def test_tempo_agrees_with_librosa() -> None:
    librosa = pytest.importorskip("librosa")
    for bpm in (100.0, 128.0):
        y = click_track(15.0, bpm, 22050)
        ours, _ = tempo_bpm(onset_envelope(y, 22050), 22050 / 512)
        theirs = float(np.atleast_1d(librosa.beat.beat_track(y=y, sr=22050)[0])[0])
        assert abs(ours - theirs) / theirs < 0.03
