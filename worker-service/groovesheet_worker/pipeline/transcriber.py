"""The whole transcription: song in, drum sheet music (MusicXML), MIDI, events and stems out.

decode -> separate drums (unless drums_only) -> onsets and clips -> classify hits -> tempo and bars
-> quantize -> write MusicXML, MIDI, events -> notation check, reporting progress at the checkpoints
of ``transcription.CHECKPOINTS``. The stems (MP3 of the drum stem and of the mix without it) are
encoded by ffmpeg beside that, from the end of separation on, and joined before the result.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from groovesheet_shared.jobs import OUTPUT_FILES, JobOptions, JobResult, Stems

from ..config import WorkerSettings
from ..transcription import CHECKPOINTS, PipelineOutput, ProgressCallback
from . import beat_grid, events, memory, midi, musicxml, notation_check, quantize
from .audio import load_song
from .constants import SAMPLE_RATE
from .hit_finding import HitFinding, load_hit_finder
from .separation import DrumSeparator
from .stems import DISABLED, DRUMS_ONLY, ENCODING_FAILED, StemEncoder, StemsFailed

logger = logging.getLogger(__name__)

# Separation progress (0..1 of segments) is shown between these two checkpoints.
SEPARATION_START = CHECKPOINTS["separating"][0]
SEPARATION_END = CHECKPOINTS["separated"][0]

# The stored object names the API downloads from: one table, shared by both services.
OUTPUT_MUSICXML = OUTPUT_FILES["musicxml"]
OUTPUT_MIDI = OUTPUT_FILES["midi"]
OUTPUT_EVENTS = OUTPUT_FILES["json"]


class StageClock:
    """Wall seconds per stage, for the job result and `make bench`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(self.seconds.get(stage, 0.0) + time.perf_counter() - start, 3)


class Transcriber:
    """The loaded pipeline: both models are loaded once here, then it is called once per job."""

    def __init__(self, settings: WorkerSettings, hit_finder: HitFinding | None = None) -> None:
        self.settings = settings
        if settings.reuse_freed_memory:
            memory.reuse_freed_memory()
        self.separator = DrumSeparator.from_settings(settings)
        self.hit_finder = hit_finder or load_hit_finder(settings)
        self.stem_encoder = StemEncoder(settings.ffmpeg_bin, timeout_seconds=settings.stems_timeout_seconds)

    def __call__(
        self,
        audio_path: Path,
        options: JobOptions,
        work_dir: Path,
        progress: ProgressCallback,
    ) -> PipelineOutput:
        try:
            return self._transcribe(audio_path, options, work_dir, progress)
        finally:
            # Whichever stage ends the job, the memory it freed goes back to the system.
            memory.release_freed_memory()

    def _transcribe(
        self,
        audio_path: Path,
        options: JobOptions,
        work_dir: Path,
        progress: ProgressCallback,
    ) -> PipelineOutput:
        audio_path, work_dir = Path(audio_path), Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        clock = StageClock()

        def checkpoint(name: str, message: str | None = None) -> None:
            percent, default_message = CHECKPOINTS[name]
            progress(percent, name, message or default_message)

        with clock("decode"):
            song = load_song(audio_path, self.settings.max_duration_seconds)
        duration = song.duration_seconds

        stem_files: dict[str, Path] = {}
        stem_job: Future[tuple[Stems, dict[str, Path]]] | None = None
        # ffmpeg encodes the stems in its own processes while the hits and the sheet are found.
        background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stems")
        if options.drums_only:
            checkpoint("separating", "Drum-only recording: no separation needed")
            drums = song.mono
            stems = DRUMS_ONLY
            checkpoint("separated", "Drum-only recording used as is")
        else:
            checkpoint("separating")
            shown = SEPARATION_START

            def on_separation(fraction: float) -> None:
                nonlocal shown
                # 55 belongs to the 'separated' checkpoint, so the bar stops one short of it.
                percent = min(
                    SEPARATION_END - 1, SEPARATION_START + int(fraction * (SEPARATION_END - SEPARATION_START))
                )
                if percent > shown:
                    shown = percent
                    progress(percent, "separating", CHECKPOINTS["separating"][1])

            with clock("separation"):
                drum_stem = self.separator.separate_drums(song.stereo, on_separation)
            checkpoint("separated")
            stem_job = background.submit(self._stems, song.stereo, drum_stem, work_dir, clock)
            drums = drum_stem.mean(axis=0)
            del drum_stem
        del song

        try:
            with clock("onsets"):
                onsets = self.hit_finder.prepare(drums, SAMPLE_RATE, options.bpm)
            checkpoint("preprocessed")

            with clock("classify"):
                hits = self.hit_finder.classify(onsets)
            checkpoint("classified")

            with clock("tempo"):
                grid = beat_grid.estimate_tempo_grid(
                    drums,
                    SAMPLE_RATE,
                    hits,
                    options.bpm,
                    options.time_signature,
                    # HitNet's input is the readers' spectrogram too: computed once per song.
                    spectrogram=getattr(onsets, "spectrogram", None),
                )
            with clock("quantize"):
                placed = quantize.place_hits(hits, grid)
            checkpoint("building")

            title = options.title or audio_path.stem
            paths = {name: work_dir / name for name in (OUTPUT_MUSICXML, OUTPUT_MIDI, OUTPUT_EVENTS)}
            with clock("write"):
                total_notes = musicxml.write_musicxml(placed, grid, title, paths[OUTPUT_MUSICXML])
            checkpoint("musicxml_saved")
            with clock("write"):
                midi.write_midi(placed, grid, paths[OUTPUT_MIDI])
                events.write_events(hits, placed, grid, paths[OUTPUT_EVENTS])
            with clock("check"):
                notation_check.check_musicxml(paths[OUTPUT_MUSICXML], grid)
            checkpoint("checked")

            if stem_job is not None:
                with clock("stems_wait"):
                    stems, stem_files = stem_job.result()
            per_instrument = Counter(p.hit.instrument for p in placed)
            result = JobResult(
                total_notes=total_notes,
                bpm=round(float(grid.bpm), 2),
                alternative_bpm=grid.alternative_bpm,
                time_signature=grid.time_signature,
                duration_seconds=round(duration, 3),
                notes_per_instrument=dict(sorted(per_instrument.items())),
                stage_seconds=clock.seconds,
                stems=stems,
            )
            files = {**paths, **stem_files}
            return PipelineOutput(files=files, result=result, extra={"hit_model": self.settings.hit_model})
        finally:
            background.shutdown(wait=True)  # a failed job leaves no encoder writing into its directory

    def _stems(
        self, mix: np.ndarray, drums: np.ndarray, work_dir: Path, clock: StageClock
    ) -> tuple[Stems, dict[str, Path]]:
        """The drum track and the song without it, as MP3; a failure is logged, never fatal."""
        if not self.settings.stems:
            return DISABLED, {}
        try:
            with clock("stems"):
                files = self.stem_encoder.encode_stems(mix, drums, SAMPLE_RATE, work_dir)
        except StemsFailed as exc:
            logger.warning("no stems for this job: %s", exc, extra={"error_code": "stems_failed"})
            return ENCODING_FAILED, {}
        return Stems(available=True), files
