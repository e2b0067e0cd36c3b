"""Audio and model constants shared by the front half of the pipeline, in one place."""

from __future__ import annotations

# Everything is analysed at CD rate: Demucs htdemucs and the AnNOTEator clips both expect 44.1 kHz.
SAMPLE_RATE = 44_100

# Quieter than this everywhere (peak, full scale) is treated as silence: -80 dBFS.
SILENCE_PEAK = 1e-4

# Decoding reads the file in blocks of this many frames so a long upload is never held twice.
DECODE_BLOCK_FRAMES = 1 << 18

# --- AnNOTEator clip preparation (its training recipe; see pipeline/features.py) ---
# Each onset becomes a clip one 16th note long (plus a short lead-in), stretched to this length.
CLIP_SAMPLES = 8_820
# The lead-in before the onset is a quarter of a 32nd note, as in the reference's drum_to_frame.
LEAD_IN_FRACTION_OF_BEAT = 1 / 32
# Mel spectrogram of a clip: power, 128 bands up to 8 kHz, librosa defaults (n_fft 2048, hop 512).
N_MELS = 128
MEL_FMAX = 8_000.0
MEL_FRAMES = 18
# The compressor every clip went through in training (pedalboard Compressor, JUCE ballistics).
COMPRESSOR_THRESHOLD_DB = -27.0
COMPRESSOR_RATIO = 4.0
COMPRESSOR_ATTACK_MS = 1.0
COMPRESSOR_RELEASE_MS = 200.0

# The model's six outputs, in its order (SD, HH, KD, RC, TT, CC), in a drummer's words.
MODEL_CLASSES: tuple[str, ...] = ("snare", "hihat", "kick", "ride", "tom", "crash")

# Cymbal ring: high-band energy left 60-120 ms after a stroke (see features.high_band_sustain).
SUSTAIN_BAND_HZ = 5_000.0
SUSTAIN_WINDOW_SECONDS = (0.06, 0.12)
# Bands for the per-onset energy balance (see features.band_levels): kick, body, crack, bite, cymbals.
LEVEL_BANDS_HZ: tuple[tuple[float, float], ...] = (
    (30.0, 120.0),
    (120.0, 400.0),
    (400.0, 2_000.0),
    (2_000.0, 5_000.0),
    (5_000.0, 20_000.0),
)
