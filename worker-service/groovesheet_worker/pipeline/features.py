"""Turn each onset into the model's input, exactly as AnNOTEator's clips were made in training.

Recipe (cb-42/AnNOTEator ``drum_to_frame`` and ``predict_drumhit``): a clip starts a quarter of a
32nd note before the onset and lasts one 16th note at the song's tempo; it is stretched to 8820
samples, put through a compressor (-27 dB, 4:1, 1 ms / 200 ms) and turned into a 128-band power mel
spectrogram (fmax 8 kHz, n_fft 2048, hop 512) of 128 x 18 frames, read as if sampled at 44.1 kHz.
"""

from __future__ import annotations

import math

import librosa
import numpy as np

from .constants import (
    CLIP_SAMPLES,
    COMPRESSOR_ATTACK_MS,
    COMPRESSOR_RATIO,
    COMPRESSOR_RELEASE_MS,
    COMPRESSOR_THRESHOLD_DB,
    LEAD_IN_FRACTION_OF_BEAT,
    LEVEL_BANDS_HZ,
    MEL_FMAX,
    MEL_FRAMES,
    N_MELS,
    SAMPLE_RATE,
    SUSTAIN_BAND_HZ,
    SUSTAIN_WINDOW_SECONDS,
)


def clip_window(bpm: float, sr: int = SAMPLE_RATE) -> tuple[int, int]:
    """(lead-in, length after the onset) in samples: 1/4 of a 32nd note before, one 16th note after."""
    beat = 60.0 / bpm
    lead_in = round(beat * LEAD_IN_FRACTION_OF_BEAT * sr)
    after = round(beat / 4 * sr)
    return lead_in, after


def cut_clips(drums: np.ndarray, onsets: np.ndarray, bpm: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """One row per onset sample: the clip around it (zero padded at the ends of the song)."""
    lead_in, after = clip_window(bpm, sr)
    length = lead_in + after
    padded = np.pad(drums.astype(np.float32, copy=False), (lead_in, length))
    # Row i starts at onsets[i] - lead_in in the song, which is onsets[i] in the padded signal.
    index = np.asarray(onsets, dtype=np.int64)[:, None] + np.arange(length)[None, :]
    return padded[index]


def stretch_clips(clips: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Resample every clip to exactly CLIP_SAMPLES samples (the model never sees real durations)."""
    if clips.shape[0] == 0 or clips.shape[1] == CLIP_SAMPLES:
        return clips.astype(np.float32, copy=False)
    target_sr = int(sr * CLIP_SAMPLES / clips.shape[1])
    stretched = librosa.resample(clips, orig_sr=sr, target_sr=target_sr, res_type="soxr_hq", axis=-1)
    return librosa.util.fix_length(stretched, size=CLIP_SAMPLES, axis=-1).astype(np.float32, copy=False)


def compress_clips(clips: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The training compressor: a peak envelope follower with attack/release, then 4:1 above -27 dB.

    Same maths as pedalboard's Compressor (JUCE dsp::Compressor with BallisticsFilter), run on
    all clips at once; each clip starts from a fresh envelope, as each pedalboard call does.
    """
    threshold = np.float32(10.0 ** (COMPRESSOR_THRESHOLD_DB / 20.0))
    exponent = np.float32(1.0 / COMPRESSOR_RATIO - 1.0)
    exp_factor = -2.0 * math.pi * 1000.0 / sr
    attack = np.float32(math.exp(exp_factor / COMPRESSOR_ATTACK_MS))
    release = np.float32(math.exp(exp_factor / COMPRESSOR_RELEASE_MS))
    level = np.abs(clips).astype(np.float32)
    envelope = np.empty_like(level)
    state = np.zeros(level.shape[0], dtype=np.float32)
    for i in range(level.shape[1]):
        x = level[:, i]
        coeff = np.where(x > state, attack, release)
        state = x + coeff * (state - x)
        envelope[:, i] = state
    gain = np.ones_like(envelope)
    loud = envelope >= threshold
    gain[loud] = (envelope[loud] / threshold) ** exponent
    return (clips * gain).astype(np.float32, copy=False)


def clip_spectrograms(clips: np.ndarray, sr: int = SAMPLE_RATE) -> np.ndarray:
    """(n, 128, 18, 1) power mel spectrograms, the model's input."""
    if clips.shape[0] == 0:
        return np.zeros((0, N_MELS, MEL_FRAMES, 1), dtype=np.float32)
    mel = librosa.feature.melspectrogram(y=clips, sr=sr, n_mels=N_MELS, fmax=MEL_FMAX)
    return mel[..., :MEL_FRAMES, None].astype(np.float32, copy=False)


def band_power(drums: np.ndarray, n_fft: int, hop: int, weights: np.ndarray, block: int = 4096) -> np.ndarray:
    """``weights @ |STFT|^2`` (centred frames, as librosa.stft), computed a block of frames at a time.

    A full STFT of a 10-minute song at hop 256 is ~0.85 GB of complex numbers; blocks keep the
    working set to a few tens of MB while giving exactly the same frames.
    """
    padded = np.pad(drums.astype(np.float32, copy=False), n_fft // 2)
    frames = 1 + (padded.size - n_fft) // hop
    out = np.empty((weights.shape[0], max(frames, 0)), dtype=np.float32)
    for first in range(0, frames, block):
        last = min(frames, first + block)
        chunk = padded[first * hop : (last - 1) * hop + n_fft]
        spectrum = librosa.stft(chunk, n_fft=n_fft, hop_length=hop, center=False)
        out[:, first:last] = weights @ (spectrum.real**2 + spectrum.imag**2)
    return out


def band_weights(sr: int, n_fft: int, bands: tuple[tuple[float, float], ...]) -> np.ndarray:
    """0/1 rows selecting the STFT bins of each band [low, high)."""
    freqs = librosa.fft_frequencies(sr=sr, n_fft=n_fft)
    return np.stack([(freqs >= low) & (freqs < high) for low, high in bands]).astype(np.float32)


def high_band_sustain(
    drums: np.ndarray, onsets: np.ndarray, bpm: float, sr: int = SAMPLE_RATE, hop: int = 256
) -> np.ndarray:
    """How much high-band (>= 5 kHz) energy is left 60-120 ms after each onset, in dB of its peak.

    A closed hi-hat is choked within a few tens of ms (median -17 dB on MDB Drums); a ride or crash
    keeps ringing (median -3 dB). The window ends before the next 16th note so it is not the next hit.
    """
    if len(onsets) == 0:
        return np.zeros(0, dtype=np.float32)
    high = band_power(drums, 1024, hop, band_weights(sr, 1024, ((SUSTAIN_BAND_HZ, sr),)))[0] + 1e-10
    high = np.pad(high, (0, int(0.2 * sr / hop)), mode="edge")
    start = int(SUSTAIN_WINDOW_SECONDS[0] * sr / hop)
    end = max(start + 1, int(min(SUSTAIN_WINDOW_SECONDS[1], 0.9 * 15.0 / bpm) * sr / hop))
    peak_frames = max(1, int(0.03 * sr / hop))
    frames = np.clip(np.round(np.asarray(onsets) / hop).astype(int), 0, high.size - 1)
    index = np.arange(high.size)
    peak = np.array([high[f : f + peak_frames + 1].max() for f in frames])
    late = np.array([high[index[f + start : f + end]].mean() for f in frames])
    return (10 * np.log10(late / peak)).astype(np.float32)


def band_levels(drums: np.ndarray, onsets: np.ndarray, sr: int = SAMPLE_RATE, hop: int = 256) -> np.ndarray:
    """(n, 5) share of each onset's first 20 ms of energy per LEVEL_BANDS_HZ band, in dB.

    Where a stroke's energy sits tells kick (low), snare (400 Hz - 2 kHz crack) and hi-hat (high)
    apart better than the clip model alone does when they are played together.
    """
    if len(onsets) == 0:
        return np.zeros((0, len(LEVEL_BANDS_HZ)), dtype=np.float32)
    energy = band_power(drums, 2048, hop, band_weights(sr, 2048, LEVEL_BANDS_HZ)) + 1e-10
    frames = np.clip(np.round(np.asarray(onsets) / hop).astype(int), 0, energy.shape[1] - 1)
    span = max(1, int(0.02 * sr / hop))
    peaks = np.stack([energy[:, f : f + span].max(axis=1) for f in frames])
    return (10 * np.log10(peaks / peaks.sum(axis=1, keepdims=True))).astype(np.float32)


def onset_clips(
    drums: np.ndarray, onsets: np.ndarray, bpm: float, sr: int = SAMPLE_RATE, batch: int = 512
) -> np.ndarray:
    """Model input for every onset (sample indices) of the mono drum track at ``bpm``.

    Clips are prepared ``batch`` at a time: a long song has thousands, and each one's STFT and
    compressor state would otherwise all be alive at once.
    """
    onsets = np.asarray(onsets, dtype=np.int64)
    out = np.empty((len(onsets), N_MELS, MEL_FRAMES, 1), dtype=np.float32)
    for first in range(0, len(onsets), batch):
        clips = cut_clips(drums, onsets[first : first + batch], bpm, sr)
        out[first : first + batch] = clip_spectrograms(compress_clips(stretch_clips(clips, sr), sr), sr)
    return out
