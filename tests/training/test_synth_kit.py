"""The procedurally synthesised kits: complete, deterministic, dynamics that get louder and brighter."""

from __future__ import annotations

import time

import numpy as np
import pytest

from training.classes import CLASSES
from training.kit import SAMPLE_RATE, Kit
from training.synth_kit import (
    CLASS_LEVEL_DB,
    KIT_LEVEL_SPREAD_DB,
    LAYER_VELOCITIES,
    PEAK_DBFS,
    ROUND_ROBINS,
    TOM_RANGES,
    synth_kit,
)

SEEDS = tuple(range(6))


@pytest.fixture(scope="module")
def kits() -> dict[int, Kit]:
    return {seed: synth_kit(seed) for seed in SEEDS}


def layers(kit: Kit, cls: str, rr: int) -> list[np.ndarray]:
    """One round-robin's shots, softest layer first."""
    shots = kit.shots[cls]
    return [shots[i * ROUND_ROBINS + rr].audio for i in range(len(LAYER_VELOCITIES))]


def energy(x: np.ndarray) -> float:
    return float(np.sum(np.square(x, dtype=np.float64)))


def centroid(x: np.ndarray) -> float:
    power = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    return float(np.sum(power * np.fft.rfftfreq(x.size, 1 / SAMPLE_RATE)) / np.sum(power))


def fundamental(x: np.ndarray, lo: float = 40.0, hi: float = 400.0) -> float:
    """The strongest FFT peak in [lo, hi] Hz, after the stroke's pitch drop (from 50 ms on)."""
    x = x[int(0.05 * SAMPLE_RATE) :].astype(np.float64)
    n = 1 << 18
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size), n))
    freqs = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    band = (freqs > lo) & (freqs < hi)
    return float(freqs[band][np.argmax(spectrum[band])])


def block_rms(x: np.ndarray, block: int = SAMPLE_RATE // 100) -> np.ndarray:
    """RMS of each 10 ms block."""
    m = x.size // block
    return np.sqrt(np.mean(np.square(x[: m * block].astype(np.float64)).reshape(m, block), axis=1))


def ring_time(x: np.ndarray, below_db: float = -40.0) -> float:
    """Seconds until the 10 ms RMS stays below ``below_db`` under its maximum."""
    rms = block_rms(x)
    loud = np.flatnonzero(rms >= rms.max() * 10 ** (below_db / 20))
    return (int(loud[-1]) + 1) / 100


def rms_db(x: np.ndarray, seconds: float = 0.05) -> float:
    head = x[: int(seconds * SAMPLE_RATE)].astype(np.float64)
    return 20 * np.log10(np.sqrt(np.mean(head**2)))


def test_every_class_has_every_layer_and_round_robin_as_mono_float32(kits: dict[int, Kit]) -> None:
    kit = kits[0]
    assert set(kit.shots) == set(CLASSES)
    assert "CC0" in kit.licence and kit.name == "synth-0"
    for cls in CLASSES:
        velocities = [shot.velocity for shot in kit.shots[cls]]
        assert velocities == [v for v in LAYER_VELOCITIES for _ in range(ROUND_ROBINS)], cls
        for shot in kit.shots[cls]:
            audio = shot.audio
            assert audio.dtype == np.float32 and audio.ndim == 1, cls
            assert np.all(np.isfinite(audio)), cls
            # The stroke is at sample 0: silent there, loud at once, loudest within the first 80 ms.
            assert audio[0] == 0.0, cls
            blocks = block_rms(audio)
            assert int(np.argmax(blocks)) < 8, cls
            assert blocks[0] > blocks.max() / 10 ** (10 / 20), cls
            # Trimmed with a fade: the file ends in silence.
            assert abs(float(audio[-1])) < 1e-4, cls


def test_the_same_seed_gives_the_same_kit_and_another_seed_a_different_one(kits: dict[int, Kit]) -> None:
    again = synth_kit(1)
    for cls in CLASSES:
        for a, b in zip(kits[1].shots[cls], again.shots[cls], strict=True):
            assert a.velocity == b.velocity
            np.testing.assert_array_equal(a.audio, b.audio)
    for cls in CLASSES:
        a, b = kits[0].shots[cls][-1].audio, kits[1].shots[cls][-1].audio
        assert a.size != b.size or not np.allclose(a, b, atol=1e-3), cls
    # Round-robins of one layer are close but not identical strokes.
    for cls in CLASSES:
        first, second = (layers(kits[0], cls, rr)[-1] for rr in range(ROUND_ROBINS))
        assert first.size != second.size or not np.array_equal(first, second), cls
        assert abs(10 * np.log10(energy(first) / energy(second))) < 3.0, cls


def test_a_louder_layer_has_more_energy_and_is_brighter(kits: dict[int, Kit]) -> None:
    for seed, kit in kits.items():
        for cls in CLASSES:
            for rr in range(ROUND_ROBINS):
                shots = layers(kit, cls, rr)
                energies = [energy(x) for x in shots]
                brightness = [centroid(x) for x in shots]
                assert np.all(np.diff(energies) > 0), (seed, cls, rr, energies)
                assert np.all(np.diff(brightness) > 0), (seed, cls, rr, brightness)
                # Softest to loudest spans a real dynamic range (at least 20 dB).
                assert 10 * np.log10(energies[-1] / energies[0]) > 20, (seed, cls)


def test_toms_are_tuned_high_over_mid_over_floor_inside_their_ranges(kits: dict[int, Kit]) -> None:
    for seed, kit in kits.items():
        pitch = {cls: fundamental(kit.shots[cls][-1].audio) for cls in TOM_RANGES}
        assert pitch["tom_high"] > 1.15 * pitch["tom_mid"] > 1.15**2 * pitch["tom_floor"], (seed, pitch)
        for cls, (lo, hi) in TOM_RANGES.items():
            assert 0.95 * lo <= pitch[cls] <= 1.05 * hi, (seed, cls, pitch[cls])


def test_pedal_hihat_is_a_short_quiet_chick_and_open_hihat_rings(kits: dict[int, Kit]) -> None:
    for seed, kit in kits.items():
        for pedal, open_, closed in zip(
            kit.shots["hihat_pedal"], kit.shots["hihat_open"], kit.shots["hihat_closed"], strict=True
        ):
            assert energy(pedal.audio) < energy(open_.audio) / 2, seed
            assert rms_db(pedal.audio) < rms_db(open_.audio), seed
            assert energy(pedal.audio) < energy(closed.audio), seed
            assert ring_time(pedal.audio) < 0.12 < 0.35 < ring_time(open_.audio), seed
            assert ring_time(closed.audio) < ring_time(open_.audio), seed
            assert 0.35 < open_.audio.size / SAMPLE_RATE < 1.5, seed


def test_cymbals_ring_long_and_drums_do_not(kits: dict[int, Kit]) -> None:
    for seed, kit in kits.items():
        length = {cls: kit.shots[cls][-1].audio.size / SAMPLE_RATE for cls in CLASSES}
        assert 1.8 < length["ride"] < 5.5, (seed, length)
        assert 1.8 < length["ride_bell"] < 5.5, (seed, length)
        assert 1.2 < length["crash"] < 4.5, (seed, length)
        assert length["cross_stick"] < 0.25 and length["hihat_closed"] < 0.35, (seed, length)
        assert length["kick"] < 1.3 and length["snare"] < 0.8, (seed, length)
        # Cymbals are bright, drums are not.
        loud = {cls: centroid(kit.shots[cls][-1].audio) for cls in CLASSES}
        assert min(loud[c] for c in ("hihat_closed", "hihat_open", "crash")) > 4000, (seed, loud)
        assert max(loud[c] for c in ("kick", "tom_high", "tom_mid", "tom_floor")) < 500, (seed, loud)


def test_levels_peak_at_minus_3_dbfs_with_a_real_kit_balance(kits: dict[int, Kit]) -> None:
    for seed, kit in kits.items():
        peak = max(float(np.abs(s.audio).max()) for cls in CLASSES for s in kit.shots[cls])
        assert 20 * np.log10(peak) == pytest.approx(PEAK_DBFS, abs=0.01), seed
        loudest = {
            cls: np.mean([rms_db(layers(kit, cls, rr)[-1]) for rr in range(ROUND_ROBINS)]) for cls in CLASSES
        }
        for cls in CLASSES:
            relative = loudest[cls] - loudest["snare"]
            assert abs(relative - CLASS_LEVEL_DB[cls]) <= 2 * KIT_LEVEL_SPREAD_DB + 0.5, (seed, cls, relative)
        # As in a real kit: the pedal chick is the quietest and the kick and snare the loudest.
        assert loudest["hihat_pedal"] < loudest["hihat_closed"] < loudest["snare"], seed


def test_kits_differ_in_sound_from_seed_to_seed(kits: dict[int, Kit]) -> None:
    tom_high = [fundamental(k.shots["tom_high"][-1].audio) for k in kits.values()]
    kick = [fundamental(k.shots["kick"][-1].audio, 30, 200) for k in kits.values()]
    crash = [k.shots["crash"][-1].audio.size / SAMPLE_RATE for k in kits.values()]
    hats = [centroid(k.shots["hihat_closed"][-1].audio) for k in kits.values()]
    assert max(tom_high) - min(tom_high) > 20
    assert max(kick) - min(kick) > 5
    assert max(crash) - min(crash) > 0.5
    assert max(hats) / min(hats) > 1.15


def test_the_renderer_picks_layers_from_it(kits: dict[int, Kit]) -> None:
    rng = np.random.default_rng(0)
    audio, gain = kits[0].pick("snare", 30, rng)
    assert gain == 1.0
    assert any(audio is shot.audio for shot in kits[0].shots["snare"][:ROUND_ROBINS])


def test_a_kit_is_synthesised_well_under_a_second() -> None:
    start = time.process_time()
    synth_kit(123)
    assert time.process_time() - start < 1.0


def test_negative_seeds_are_refused() -> None:
    with pytest.raises(ValueError):
        synth_kit(-1)


def test_varied_timbres_change_only_the_closed_hi_hat_and_the_cross_stick(kits: dict[int, Kit]) -> None:
    for seed in SEEDS[:3]:
        plain, varied = kits[seed], synth_kit(seed, varied_timbres=True)
        assert varied.name == f"synth-{seed}-varied"
        assert synth_kit(seed, varied_timbres=True).shots["hihat_closed"][3].audio.tobytes() == (
            varied.shots["hihat_closed"][3].audio.tobytes()
        )
        for cls in CLASSES:
            a, b = plain.shots[cls][-1].audio, varied.shots[cls][-1].audio
            same = a.shape == b.shape and np.allclose(a / np.abs(a).max(), b / np.abs(b).max(), atol=1e-5)
            assert same == (cls not in ("hihat_closed", "cross_stick")), (seed, cls)
        # Still a closed stroke: shorter than the open hi-hat, louder than the foot's chick.
        for pedal, open_, closed in zip(
            varied.shots["hihat_pedal"], varied.shots["hihat_open"], varied.shots["hihat_closed"], strict=True
        ):
            assert ring_time(closed.audio) < ring_time(open_.audio), seed
            assert energy(pedal.audio) < energy(closed.audio), seed


def test_varied_closed_hi_hats_span_a_wider_range_of_sounds() -> None:
    """Across kits, the varied closed hi-hats are both tighter and darker than the plain ones get."""
    plain = [synth_kit(s).shots["hihat_closed"][-1].audio for s in range(12)]
    varied = [synth_kit(s, varied_timbres=True).shots["hihat_closed"][-1].audio for s in range(12)]
    assert min(centroid(x) for x in varied) < min(centroid(x) for x in plain)
    assert min(ring_time(x) for x in varied) <= min(ring_time(x) for x in plain)
