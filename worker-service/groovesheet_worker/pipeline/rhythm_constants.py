"""Every constant of the tempo, meter and downbeat readers, named, in one place.

Tempos are counted pulses per minute; positions and tolerances are in pulses (or beats) unless the
name says seconds. The weights are the terms of the readers' scores (see each module's docstring);
they were set on the development pieces of ``bench/eval_notation.py --set dev`` (GMD's validation
split and generated pieces from their own seeds), never on the pieces the benchmark reports.
"""

from __future__ import annotations

# --- the shared analysis (rhythm_analysis.py) ---
# The onset envelope is the flux of the drum-track spectrogram (hitnet.spectrogram: 100 frames/s);
# a track shorter than this many frames has none.
MIN_ENVELOPE_FRAMES = 4
# Quieter than this everywhere (peak, full scale) is treated as silence.
SILENCE_LEVEL = 1e-4
# Fewer hits than this and the hits are too sparse to track a tempo from.
MIN_HITS_FOR_TRACKING = 4
# A stroke's weight is how likely its role is right (from the finder's confidence, below) times
# (velocity / REFERENCE_VELOCITY), within this range.
REFERENCE_VELOCITY = 100.0
LOUDNESS_WEIGHT_RANGE = (0.25, 1.3)
MIN_HIT_WEIGHT = 0.05
# How likely a found hit's role is right given the finder's confidence c: sigmoid(a + b * logit(c))
# per role, (a, b), relative to a sure hit (c = CONFIDENCE_CLIP[1]), so true strokes weigh 1. Fitted
# by bench/fit_reading.py --found-hits (logistic regression of "a true stroke of this role within
# 50 ms") on the default hit model's hits in the fit set's pieces, kits it never trained on: a
# hi-hat heard as a snare or a pedal hi-hat comes with a low confidence, and should hardly count.
CONFIDENCE_CLIP = (0.01, 0.99)
ROLE_CONFIDENCE_CALIBRATION: dict[str, tuple[float, float]] = {
    "kick": (2.01, 2.03),
    "snare": (2.41, 2.45),
    "time": (1.90, 2.09),
    "pedal": (1.97, 2.43),
    "crash": (2.22, 2.55),
    "tom": (2.44, 1.87),
}
# Softer than this (MIDI velocity) is a ghost note: texture, not the backbeat.
GHOST_VELOCITY = 50

# --- tempo (tempo.py, pulse_evidence.py, tempo_sections.py) ---
# Where the counted pulse is looked for.
TEMPO_RANGE = (40.0, 240.0)
# A pedal hi-hat stroke this close to the next or previous one plays faster than any backbeat can
# (every other pulse at TEMPO_RANGE's top, less 20 % for timing): it keeps time and is never read as
# the backbeat (rhythm_analysis.keeping_time). Finders also hear some kits' closed hi-hats as pedal
# ones; either way such strokes mark the pulse.
PEDAL_TIME_GAP_SECONDS = 0.8 * 2 * 60.0 / TEMPO_RANGE[1]
# Tempo used when the audio gives nothing to track (silence, a handful of hits).
FALLBACK_BPM = 120.0
# Candidate tempos: local maxima of the envelope's autocorrelation, at most this many, and any two
# within this ratio of each other are one candidate.
MAX_TEMPO_CANDIDATES = 12
# The strongest this-many peaks bring their relatives (tempo.RELATED_RATIOS) as candidates too.
RELATED_CANDIDATE_SOURCES = 3
CANDIDATE_MERGE_RATIO = 0.03
# The best reading's relatives (x2, x1/2, ...) are tracked too unless a reading is this close to them.
RELATIVE_MERGE_RATIO = 0.01
# Tempos (ratios of the chosen reading's tracked tempo) an even grid is laid at when it may replace the
# tracked pulses: +-4 % in steps of 0.25 % (a grid 0.125 % off drifts a sixteenth of a beat in 50 beats).
STEADY_GRID_RATIOS: tuple[float, ...] = tuple(1.0 + 0.0025 * k for k in range(-16, 17))
# The tracked readings (best scores first) that also compete with the steadiest grid near them
# (tempo.steadier_level): 4 read the notation benchmark's test, check and dev sets as every candidate
# did, the beat grid of a 274 s song in 4.3 s against 7.3 s (3.3 s before; bench/bench_reading.py).
STEADY_LEVEL_CANDIDATES = 4
# A relative of the chosen tempo (x2, x1/2, x3, ...) whose level score is within this of the chosen
# one's is offered as the alternative reading. Chosen on the fit set (bench/fit_reading.py's pieces):
# 1.5 offers the right tempo for 4 of the 15 HitNet readings there at a wrong tempo, and an
# alternative on 14 % of the right ones.
ALTERNATIVE_TEMPO_MARGIN = 1.5
# A reading is at a relative's ratio when its tempo is within this (fraction) of it.
ALTERNATIVE_MATCH_TOLERANCE = 0.04
# Around the uploader's bpm: a typed tempo is rounded to a whole bpm, up to 0.8 % off at 60 bpm.
HINTED_GRID_RATIOS: tuple[float, ...] = tuple(1.0 + 0.0025 * k for k in range(-4, 5))
# A stroke further than this (pulses) from a grid counts as this far (tempo.grid_error).
GRID_ERROR_CAP = 0.06
# Beat tracking (beat_tracker.py, the dynamic programme of librosa's beat_track): how strictly it
# holds the tempo. Lower follows a live drummer's drift further.
TRACKING_TIGHTNESS = 120.0
# Tracked pulses are smoothed by a parabola fitted over this many pulses either side, which
# follows drift but not each stroke's own timing.
SMOOTHING_PULSES = 4
# Tempo steps (tempo_steps.py): a section is lost when STEP_WINDOW_PULSES pulses in a row hold at least
# STEP_MIN_STROKES strokes and under STEP_LOST_SHARE of their weight on the grid, while the song before
# them holds at least STEP_KEPT_SHARE; the rest is then read at a tempo within STEP_RATIO_RANGE of the
# song's, and joined in when that puts STEP_MIN_GAIN more of the song's stroke weight on the grid. At most
# MAX_TEMPO_STEPS sections; the section's first pulse comes at least STEP_MIN_JOINT_SHARE of its
# period after the song's last, and at most STEP_MAX_JOINT_SHARE of the longer period.
STEP_WINDOW_PULSES = 8
STEP_MIN_STROKES = 8
STEP_LOST_SHARE = 0.75
STEP_KEPT_SHARE = 0.85
STEP_RATIO_RANGE = (0.6, 1.6)
STEP_MIN_GAIN = 0.05
STEP_MIN_JOINT_SHARE = 0.5
STEP_MAX_JOINT_SHARE = 1.5
# Joints whose pulses put this much less of the song's stroke weight on the grid than the best tie.
STEP_JOINT_TIE = 0.001
MAX_TEMPO_STEPS = 4
# A tracked pulse interval this far (fraction) from the median is a guess at the edge of the music.
RAGGED_EDGE_TOLERANCE = 0.1
# A stroke this close to a grid point (pulses, or seconds when that is more) is on it.
GRID_TOLERANCE = 0.07
GRID_TOLERANCE_SECONDS = 0.02
# A stroke within this many pulses of a 16th (of an 8th) is on it, when an even grid is moved onto
# the 8th notes (tempo.on_the_eighths).
EIGHTH_NOTE_TOLERANCE = 0.06
# Strokes closer than this are one note (a flam, a kick under a crash) for note-value counting.
SAME_NOTE_SECONDS = 0.03
# Note values: gaps shorter than this (pulses) are finer than 16ths (than 16th-note sextuplets,
# the halves of triplets, in a pulse divided in three); this long or longer, quarters.
FINE_GAP = 0.19
FINE_GAP_TRIPLETS = 0.15
COARSE_GAP = 0.9
# A reading this fast whose notes are nearly all quarters (this share of the gaps between notes a
# pulse or longer) and whose kick is on every other pulse (this share of its weight on pulses on the
# odd ones, or on the even ones) is read at half the tempo, where the notes are 8ths and the kick on
# every beat (tempo.eighth_note_level): a polka is charted in 8ths, not as a backbeat at 240.
QUARTER_NOTE_READING_MIN_BPM = 180.0
QUARTER_NOTE_SHARE = 0.75
ALTERNATE_PULSE_SHARE = 0.8
# A reading whose notes are nearly all quarters (QUARTER_NOTE_SHARE) and whose kick and backbeat put
# this share of their weight together on one pulse in three is read at a third of the tempo, in
# 8th-note triplets (tempo.compound_level): a 12/8 ballad's 8ths are not quarters at 150.
GROUPED_IN_THREES_SHARE = 0.6
# The backbeat: main snares, or the pedal hi-hat when fewer snares than this are played.
MIN_BACKBEAT_STROKES = 4
# A pulse carries the backbeat when the backbeat's weight on it is at least this share of a typical
# backbeat pulse's (so a stray unsure snare does not).
BACKBEAT_PULSE_SHARE = 0.5
# Triplet subdivision is chosen when it fits this much better than 16ths.
TRIPLET_MARGIN = 0.05
# Tempo prior: log-normal around these centres (simple pulse, compound pulse), this many octaves wide.
PRIOR_CENTRE_BPM = 105.0
COMPOUND_PRIOR_CENTRE_BPM = 62.0
PRIOR_OCTAVES = 1.0
# Score of a tempo reading: these weights times pulse_evidence.reading_features (each term is 0..1, the
# prior a log-density). Fitted by bench/fit_reading.py on GMD's train split and generated pieces of
# their own seeds, from the true strokes and from the default hit model's hits (weighed by
# ROLE_CONFIDENCE_CALIBRATION): the softmax over each piece's readings.
READING_WEIGHTS: dict[str, float] = {
    "grid_fit": 5.73,
    "pulse_presence": 3.13,
    "kick_on_pulse": 4.16,
    "time_on_pulse": 0.41,
    "backbeat_on_pulse": 2.87,
    "backbeat_every_pulse": -0.31,
    "backbeat_every_other_pulse": 1.79,
    "backbeat_every_fourth_pulse": -1.75,
    "not_finer_than_16ths": 4.27,
    "not_all_quarters": 0.36,
    "four_four_bar_fit": 0.39,
    "triplets": -0.91,
    "prior": 3.39,
}
# Phase of a tracked tempo (the beats, or the "and"s): these weights times the same features.
PHASE_WEIGHTS: dict[str, float] = {
    "grid_fit": 1.81,
    "pulse_presence": 0.91,
    "kick_on_pulse": 3.34,
    "time_on_pulse": 1.22,
    "backbeat_on_pulse": 2.09,
    "backbeat_every_pulse": -0.99,
    "backbeat_every_other_pulse": 1.25,
    "backbeat_every_fourth_pulse": 0.27,
    "not_finer_than_16ths": -0.03,
    "not_all_quarters": 0.00,
    "four_four_bar_fit": 0.52,
    "triplets": 0.20,
    "prior": -0.03,
}
PHASE_PROFILE_WEIGHTS: dict[str, float] = {
    "kick@0/4": 0.67,
    "kick@1/4": -0.93,
    "kick@2/4": -0.66,
    "kick@3/4": 0.70,
    "snare@0/4": 0.07,
    "snare@1/4": -0.71,
    "snare@2/4": -0.16,
    "snare@3/4": 0.54,
    "ghost@0/4": 0.18,
    "ghost@1/4": 0.35,
    "ghost@2/4": -0.09,
    "ghost@3/4": -0.15,
    "time@0/4": 0.10,
    "time@1/4": 0.01,
    "time@2/4": 0.00,
    "time@3/4": -0.31,
    "pedal@0/4": -0.06,
    "pedal@1/4": -0.20,
    "pedal@2/4": 0.44,
    "pedal@3/4": -0.49,
    "tom@0/4": -0.03,
    "tom@1/4": -0.07,
    "tom@2/4": 0.14,
    "tom@3/4": -0.49,
    "kick@0/3": -0.32,
    "kick@1/3": 0.09,
    "kick@2/3": 0.33,
    "snare@0/3": 0.63,
    "snare@1/3": -0.21,
    "snare@2/3": -0.42,
    "ghost@0/3": -0.04,
    "ghost@1/3": -0.02,
    "ghost@2/3": -0.09,
    "time@0/3": 0.10,
    "time@1/3": -0.14,
    "time@2/3": 0.04,
    "pedal@0/3": 0.29,
    "pedal@1/3": 0.00,
    "pedal@2/3": -0.32,
    "tom@0/3": 0.07,
    "tom@1/3": 0.31,
    "tom@2/3": -0.33,
}
# Pulse profile template: weight of each role's share of strokes on each 16th ("@k/4") or 8th-note
# triplet ("@k/3") of the pulse. Fitted with READING_WEIGHTS; 0 until fitted.
PULSE_PROFILE_WEIGHTS: dict[str, float] = {
    "kick@0/4": 0.46,
    "kick@1/4": -0.80,
    "kick@2/4": 0.63,
    "kick@3/4": 0.81,
    "snare@0/4": 0.05,
    "snare@1/4": 0.44,
    "snare@2/4": -0.72,
    "snare@3/4": 1.69,
    "ghost@0/4": -0.12,
    "ghost@1/4": 0.99,
    "ghost@2/4": -0.74,
    "ghost@3/4": 0.29,
    "time@0/4": -0.39,
    "time@1/4": 0.64,
    "time@2/4": 0.63,
    "time@3/4": 0.41,
    "pedal@0/4": -0.26,
    "pedal@1/4": -0.36,
    "pedal@2/4": 1.40,
    "pedal@3/4": 0.01,
    "tom@0/4": -1.28,
    "tom@1/4": 0.64,
    "tom@2/4": 0.44,
    "tom@3/4": 1.08,
    "kick@0/3": 0.20,
    "kick@1/3": -0.84,
    "kick@2/3": 0.11,
    "snare@0/3": 0.72,
    "snare@1/3": -0.82,
    "snare@2/3": -0.45,
    "ghost@0/3": -0.07,
    "ghost@1/3": 0.44,
    "ghost@2/3": 0.04,
    "time@0/3": 0.04,
    "time@1/3": -0.34,
    "time@2/3": 0.06,
    "pedal@0/3": 0.52,
    "pedal@1/3": -0.20,
    "pedal@2/3": -0.31,
    "tom@0/3": 0.18,
    "tom@1/3": 0.45,
    "tom@2/3": 0.29,
}
# A tempo hint is trusted with the tracked grid only when the tracked tempo stays this close to it.
HINT_TRACKING_AGREEMENT = 0.02
# Tempo changes: a section moving this far (fraction) from the written tempo, for at least this
# many bars, gets its own metronome mark.
TEMPO_CHANGE_THRESHOLD = 0.04
MIN_SECTION_BARS = 2

# --- meter (meter.py) ---
# A beat divided in three with a pulse slower than this is compound (6/8, 12/8); faster, it is a
# shuffle written in x/4 with triplets.
COMPOUND_MAX_PULSE_BPM = 96.0
# ... unless it is swung (meter.swung): the time-keeping cymbal has at least SWING_OUTER_SHARE of its
# weight on the first and last triplets of the pulse and at most SWING_MIDDLE_SHARE on the middle one.
# The four sets' readings in triplets: swing and shuffle patterns 0.00-0.03 on the middle triplet from
# both kinds of hits, compound grooves (generated 6/8 and 12/8, GMD's triplet-feel rock) 0.18-0.38.
SWING_OUTER_SHARE = 0.5
SWING_MIDDLE_SHARE = 0.1
# The groove's period is the shortest bar length whose repetition score is within this of the best.
# Chosen on the fit set's compound pieces (bench/eval_notation.py --set fit): how much better a 12/8
# ballad repeats over four pulses than over two is +0.044 to +0.087, a 6/8 groove's -0.014 to +0.009
# (true strokes and HitNet's hits alike); the 2/4 polkas and sambas there, period 1 or 2, are at most
# +0.002 with HitNet's hits. 0.04 wrote the dev set's two 12/8 ballads (+0.032, +0.033) as 6/8.
PERIOD_TOLERANCE = 0.025
MAX_SHORT_PERIOD = 5
LONG_PERIOD_MARGIN = 0.15
# A bar length other than 4/4's family must repeat this much better than all of them.
ODD_PERIOD_MARGIN = 0.05
# Pulses a 7/8 bar's quarter-note pulse is written in: the eighth is then the counted beat.
EIGHTHS_PER_QUARTER = 2
# A snare backbeat: this share of the main snares on pulses, and of those this share on every
# other pulse.
BACKBEAT_ON_PULSES = 0.4
BACKBEAT_SHARE = 0.75
# A 2/4 groove has a kick on at least this share of its pulses; its accented kicks are this much
# (fraction of velocity) louder than the others in the median, and louder by ACCENT_PAIR_MARGIN than
# the next pulse's kick in this share of the pairs (meter.kick_accents_alternate). The pairs' share
# was measured on the fit, dev, test and check sets' 2/4 candidates (a kick on every pulse, no
# backbeat): GMD's kicks at most 0.67 from HitNet's hits (one GMD samba heard accented: 0.93) and
# 0.73 from the true strokes, the generated polkas and sambas whose medians pass at least 0.80 and 0.94.
KICK_ON_EVERY_PULSE_SHARE = 0.8
KICK_ACCENT_RATIO = 0.15
ACCENT_PAIR_MARGIN = 0.05
KICK_ACCENT_CONSISTENCY = 0.75

# --- downbeat (downbeat.py) ---
# How much each piece of evidence (downbeat.phase_features, per bar of music) says "bar 1 starts
# here". Fitted by bench/fit_reading.py like READING_WEIGHTS: the softmax over each piece's phases.
DOWNBEAT_WEIGHTS: dict[str, float] = {
    "kick_on_one": 1.66,
    "kick_on_strong_beat": 0.46,
    "snare_on_one": -0.57,
    "snare_on_backbeat": 0.28,
    "pedal_on_backbeat": 1.47,
    "crash_on_one": 4.02,
    "tom_before_one": 1.57,
    "tom_on_one": -1.95,
    "accent_on_one": 0.58,
    "opening": 1.04,
}
# 4/4 bar profile template: weight of each role's share of strokes on each 16th of the bar ("@k/16").
# Fitted with DOWNBEAT_WEIGHTS on GMD's bars; 0 until fitted.
BAR_PROFILE_WEIGHTS: dict[str, float] = {
    "kick@0/16": 0.02,
    "kick@1/16": -0.22,
    "kick@2/16": -0.57,
    "kick@3/16": 0.44,
    "kick@4/16": 0.01,
    "kick@5/16": 0.07,
    "kick@6/16": 0.36,
    "kick@7/16": 0.30,
    "kick@8/16": -0.31,
    "kick@9/16": 0.30,
    "kick@10/16": -0.19,
    "kick@11/16": -0.09,
    "kick@12/16": 0.30,
    "kick@13/16": -0.15,
    "kick@14/16": 0.41,
    "kick@15/16": -0.66,
    "snare@0/16": -0.41,
    "snare@1/16": -0.33,
    "snare@2/16": -0.50,
    "snare@3/16": 0.05,
    "snare@4/16": 0.50,
    "snare@5/16": -0.42,
    "snare@6/16": -0.20,
    "snare@7/16": -0.49,
    "snare@8/16": -0.25,
    "snare@9/16": 0.77,
    "snare@10/16": 0.20,
    "snare@11/16": -0.01,
    "snare@12/16": 0.18,
    "snare@13/16": 0.00,
    "snare@14/16": 0.52,
    "snare@15/16": 0.46,
    "ghost@0/16": -0.10,
    "ghost@1/16": 0.56,
    "ghost@2/16": 0.53,
    "ghost@3/16": 0.15,
    "ghost@4/16": 0.49,
    "ghost@5/16": -0.19,
    "ghost@6/16": -0.42,
    "ghost@7/16": 0.06,
    "ghost@8/16": 0.12,
    "ghost@9/16": -0.45,
    "ghost@10/16": -0.19,
    "ghost@11/16": 0.06,
    "ghost@12/16": -0.52,
    "ghost@13/16": 0.11,
    "ghost@14/16": 0.06,
    "ghost@15/16": -0.29,
    "time@0/16": 0.21,
    "time@1/16": -0.25,
    "time@2/16": 0.40,
    "time@3/16": 0.02,
    "time@4/16": -0.15,
    "time@5/16": 0.81,
    "time@6/16": -0.24,
    "time@7/16": 0.10,
    "time@8/16": -0.03,
    "time@9/16": -0.23,
    "time@10/16": -0.16,
    "time@11/16": -0.23,
    "time@12/16": -0.02,
    "time@13/16": -0.32,
    "time@14/16": 0.01,
    "time@15/16": 0.14,
    "pedal@0/16": 0.59,
    "pedal@1/16": 0.15,
    "pedal@2/16": -0.32,
    "pedal@3/16": 0.08,
    "pedal@4/16": -0.06,
    "pedal@5/16": -0.07,
    "pedal@6/16": -0.53,
    "pedal@7/16": -0.04,
    "pedal@8/16": -0.32,
    "pedal@9/16": -0.01,
    "pedal@10/16": 0.84,
    "pedal@11/16": -0.01,
    "pedal@12/16": -0.19,
    "pedal@13/16": -0.07,
    "pedal@14/16": 0.02,
    "pedal@15/16": -0.02,
    "tom@0/16": -0.85,
    "tom@1/16": 0.06,
    "tom@2/16": -0.65,
    "tom@3/16": -0.31,
    "tom@4/16": -0.45,
    "tom@5/16": -0.04,
    "tom@6/16": -0.45,
    "tom@7/16": -0.03,
    "tom@8/16": 0.18,
    "tom@9/16": 0.10,
    "tom@10/16": 0.35,
    "tom@11/16": 0.26,
    "tom@12/16": 1.13,
    "tom@13/16": -0.14,
    "tom@14/16": 0.74,
    "tom@15/16": 0.07,
    "crash@0/16": 1.14,
    "crash@1/16": 0.05,
    "crash@2/16": 0.43,
    "crash@3/16": -0.04,
    "crash@4/16": -0.57,
    "crash@5/16": -0.00,
    "crash@6/16": -0.19,
    "crash@7/16": -0.25,
    "crash@8/16": -0.27,
    "crash@9/16": -0.03,
    "crash@10/16": -0.36,
    "crash@11/16": -0.11,
    "crash@12/16": -0.30,
    "crash@13/16": -0.03,
    "crash@14/16": 0.12,
    "crash@15/16": 0.39,
}
# Fills: toms (and snare runs) in the last this-many pulses of a bar point at the next bar line.
FILL_PULSES = 1
