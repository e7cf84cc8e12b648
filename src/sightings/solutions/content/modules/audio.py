"""Audio feature modules: loudness (EBU R128), tempo, speech/music/silence ratios, CLAP embedding.

Tempo is computed here in NumPy/SciPy (spectral-flux onset envelope, autocorrelation tempogram with a log-normal
prior around 120 BPM — the method of librosa's ``beat.tempo``) rather than with librosa itself: librosa's numba
JIT costs ~20 s on the first call and ~3 s per new process afterwards, more than the whole pipeline may spend on
a 30-s video at 10× real time. ``tests/unit/content`` checks our BPM against librosa's where librosa is installed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sightings.solutions.content.context import AudioTrack, ModuleContext
from sightings.solutions.content.spec import ModuleSkipped, OutputField, RawOutput, feature_module

__all__ = ["onset_envelope", "tempo_bpm"]

F32, I8 = "float32", "int8"
SILENCE_LUFS = -70.0
"""Floor for loudness values: silence (and gated-out audio) reads as -70 LUFS instead of -inf."""


def _short_term(track: AudioTrack, meter: object, window_s: float, step_s: float) -> npt.NDArray[np.float64]:
    filtered = track.samples.astype(np.float64)
    for filt in meter._filters.values():  # type: ignore[attr-defined]  # K-weighting stages of pyloudnorm
        filtered = filt.apply_filter(filtered)
    win, hop = round(window_s * track.rate), round(step_s * track.rate)
    power = filtered**2
    csum = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, max(1, filtered.size), hop)  # the last windows are shorter (clipped at the end)
    ends = np.minimum(starts + win, filtered.size)
    ms = (csum[ends] - csum[starts]) / np.maximum(1, ends - starts)
    with np.errstate(divide="ignore"):
        lufs = -0.691 + 10 * np.log10(ms)
    return np.asarray(np.maximum(lufs, SILENCE_LUFS), np.float64)


@feature_module(
    "loudness",
    version="1",
    kind="audio",
    inputs=("audio",),
    schema={
        "integrated_lufs": OutputField(F32, (), SILENCE_LUFS, 10.0),
        "loudness_range_lu": OutputField(F32, (), 0.0, 70.0, description="EBU Tech 3342 LRA"),
        "true_peak_dbtp": OutputField(F32, (), -100.0, 20.0, description="4× oversampled peak"),
        "window_t_s": OutputField(F32, ("n_windows",), lo=0, non_empty=True),
        "short_term_lufs": OutputField(F32, ("n_windows",), SILENCE_LUFS, 10.0, non_empty=True),
    },
)
def loudness(ctx: ModuleContext) -> RawOutput:
    """EBU R128 loudness (pyloudnorm): integrated LUFS, loudness range, true peak, short-term series."""
    import pyloudnorm
    from scipy.signal import resample_poly

    track = ctx.audio()
    meter = pyloudnorm.Meter(track.rate)
    data = track.samples.astype(np.float64)
    if data.size < round(0.4 * track.rate):
        data = np.pad(data, (0, round(0.4 * track.rate) - data.size))
    integrated = float(meter.integrated_loudness(data))
    integrated = max(SILENCE_LUFS, integrated) if np.isfinite(integrated) else SILENCE_LUFS
    st = _short_term(track, meter, 3.0, 1.0)
    gated = st[st > -70.0]
    if gated.size:
        gated = gated[gated > 10 * np.log10(np.mean(10 ** (gated / 10))) - 20.0]
    lra = float(np.percentile(gated, 95) - np.percentile(gated, 10)) if gated.size >= 2 else 0.0
    peak = float(np.abs(resample_poly(track.samples, 4, 1)).max()) if track.samples.size else 0.0
    true_peak = 20 * np.log10(peak) if peak > 1e-5 else -100.0
    series = _short_term(track, meter, min(3.0, ctx.options.window_s * 3), ctx.options.window_s)
    n = ctx.windows().size
    series = np.pad(series, (0, max(0, n - series.size)), constant_values=SILENCE_LUFS)[:n]
    return {
        "integrated_lufs": integrated,
        "loudness_range_lu": min(70.0, max(0.0, lra)),
        "true_peak_dbtp": float(np.clip(true_peak, -100.0, 20.0)),
        "window_t_s": ctx.windows(),
        "short_term_lufs": series,
    }


def onset_envelope(y: npt.NDArray[np.float32], rate: int, hop: int = 512) -> npt.NDArray[np.float64]:
    """Spectral flux of the log-magnitude spectrogram (half-wave rectified, summed over bins), one value per hop."""
    n_fft = 2048
    if y.size < n_fft:
        y = np.pad(y, (0, n_fft - y.size))
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]
    mag = np.abs(np.fft.rfft(frames * np.hanning(n_fft), axis=1))
    logmag = np.log1p(100.0 * mag)
    flux = np.maximum(0.0, np.diff(logmag, axis=0)).mean(axis=1)
    return np.concatenate([[0.0], flux])


def tempo_bpm(env: npt.NDArray[np.float64], frame_rate: float) -> tuple[float, float]:
    """(BPM, beat strength in [0, 1]) from an onset envelope: autocorrelation × log-normal prior at 120 BPM."""
    x = env - env.mean()
    if x.size < 8 or not np.any(x):
        return 0.0, 0.0
    ac = np.correlate(x, x, mode="full")[x.size - 1 :]
    ac /= ac[0] if ac[0] > 0 else 1.0
    lags = np.arange(ac.size)
    lo, hi = max(1, int(frame_rate * 60 / 240)), min(ac.size - 1, int(frame_rate * 60 / 40))
    if hi <= lo:
        return 0.0, 0.0
    bpm = 60.0 * frame_rate / lags[lo : hi + 1]
    prior = np.exp(-0.5 * (np.log2(bpm / 120.0)) ** 2)
    k = lo + int(np.argmax(ac[lo : hi + 1] * prior))
    if 0 < k < ac.size - 1:  # parabolic refinement of the lag
        a, b, c = ac[k - 1], ac[k], ac[k + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom else 0.0
    else:
        shift = 0.0
    return float(60.0 * frame_rate / (k + shift)), float(np.clip(ac[k], 0.0, 1.0))


@feature_module(
    "tempo",
    version="1",
    kind="audio",
    inputs=("audio",),
    schema={
        "bpm": OutputField(F32, (), 0.0, 300.0, description="0 when no periodicity is found"),
        "beat_strength": OutputField(F32, (), lo=0.0, hi=1.0, description="autocorrelation at the beat period"),
        "onset_rate_hz": OutputField(F32, (), lo=0),
        "onset_envelope": OutputField(F32, ("n_env",), lo=0),
    },
)
def tempo(ctx: ModuleContext) -> RawOutput:
    """BPM, beat strength and onset rate (NumPy implementation of librosa's method; see the module docs)."""
    from scipy.signal import find_peaks

    track = ctx.audio()
    hop = 512
    env = onset_envelope(track.samples, track.rate, hop)
    frame_rate = track.rate / hop
    bpm, strength = tempo_bpm(env, frame_rate)
    peaks, _ = find_peaks(env, height=env.mean() + env.std(), distance=max(1, int(0.05 * frame_rate)))
    return {
        "bpm": min(300.0, bpm),
        "beat_strength": strength,
        "onset_rate_hz": peaks.size / max(track.duration_s, 1e-6),
        "onset_envelope": env,
    }


@feature_module(
    "audio_mix",
    version="1",
    kind="audio",
    inputs=("audio",),
    schema={
        "speech_ratio": OutputField(F32, (), lo=0.0, hi=1.0),
        "music_ratio": OutputField(F32, (), lo=0.0, hi=1.0),
        "silence_ratio": OutputField(F32, (), lo=0.0, hi=1.0),
        "segment_class": OutputField(
            I8, ("n_segments",), 0, 2, non_empty=True, description="per second: 0 silence, 1 speech, 2 music"
        ),
    },
)
def audio_mix(ctx: ModuleContext) -> RawOutput:
    """Speech / music / silence shares from signal features (energy, its 4-Hz modulation, spectral flatness)."""
    track = ctx.audio()
    y, rate = track.samples, track.rate
    win = round(0.05 * rate)
    n_win = max(1, y.size // win)
    frames = y[: n_win * win].reshape(n_win, win) if y.size >= win else np.pad(y, (0, win - y.size))[None]
    rms = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)) + 1e-10
    db = 20 * np.log10(rms)
    spec = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), axis=1)) + 1e-10
    flatness = np.exp(np.log(spec).mean(axis=1)) / spec.mean(axis=1)
    per_seg = 20  # 50-ms windows per 1-s segment
    n_seg = max(1, int(np.ceil(n_win / per_seg)))
    classes = np.zeros(n_seg, np.int8)
    for s in range(n_seg):
        d = db[s * per_seg : (s + 1) * per_seg]
        f = flatness[s * per_seg : (s + 1) * per_seg]
        if (d < -50.0).mean() > 0.8:
            classes[s] = 0
            continue
        active = d > -50.0
        # Speech: syllabic on/off energy (large dB swings, many pauses) and noisy-then-voiced spectra.
        swing = float(np.std(d[active])) if active.sum() > 1 else 0.0
        pauses = float((d < d.max() - 25).mean())
        speechy = swing > 6.0 and pauses > 0.15 and float(np.std(f)) > 0.05
        classes[s] = 1 if speechy else 2
    counts = np.bincount(classes, minlength=3) / n_seg
    return {
        "silence_ratio": counts[0],
        "speech_ratio": counts[1],
        "music_ratio": counts[2],
        "segment_class": classes,
    }


@feature_module(
    "clap",
    version="1",
    kind="audio",
    inputs=("audio", "models"),
    schema={
        "window_t_s": OutputField(F32, ("n_clap",), lo=0, non_empty=True),
        "embeddings": OutputField(F32, ("n_clap", "dim"), -1.0, 1.0, non_empty=True, description="L2-normalised"),
        "embedding": OutputField(F32, ("dim",), -1.0, 1.0, description="mean of the windows, L2-normalised"),
    },
)
def clap(ctx: ModuleContext) -> RawOutput:
    """CLAP audio embedding from an ONNX audio encoder in the models dir (48 kHz waveform windows)."""
    model = ctx.models_dir / ctx.options.clap_model
    if not model.is_file():
        raise ModuleSkipped(f"no CLAP model at {model} (add one: sightings models import clap.onnx --name clap_audio)")
    from scipy.signal import resample_poly

    from sightings.models.onnx_session import open_onnx_session

    track = ctx.audio()
    session = open_onnx_session(model, providers=None, num_threads=1, where="clap", extra="vision")
    inp = session.get_inputs()[0]
    dim = inp.shape[-1]
    win = dim if isinstance(dim, int) and dim > 0 else 480_000  # 10 s at 48 kHz
    y = resample_poly(track.samples, 48_000, track.rate).astype(np.float32)
    starts = np.arange(0, max(1, y.size), win)
    embs, times = [], []
    for s in starts:
        piece = y[s : s + win]
        if piece.size < win:
            piece = np.pad(piece, (0, win - piece.size))
        shape = [1] * (len(inp.shape) - 1) + [win]
        out = np.asarray(session.run(None, {inp.name: piece.reshape(shape)})[0], np.float64).reshape(-1)
        norm = np.linalg.norm(out)
        if not np.isfinite(norm) or norm == 0:
            raise ModuleSkipped("CLAP model returned an empty or non-finite embedding")
        embs.append(out / norm)
        times.append(s / 48_000)
    emb = np.stack(embs)
    mean = emb.mean(axis=0)
    return {
        "window_t_s": np.array(times),
        "embeddings": emb,
        "embedding": mean / max(1e-12, float(np.linalg.norm(mean))),
    }
