"""The stems a drummer practises with: the separated drum track and the song without it, as MP3.

``drums`` is Demucs' drum stem; ``no_drums`` is the mix minus that stem (what is left when the drums
are taken out, to play along with). Both are encoded by ffmpeg's libmp3lame at a constant 192 kbit/s,
44.1 kHz stereo.

Why MP3 and not Ogg Vorbis (ffmpeg here has both encoders): every browser's <audio> plays MP3
(Safari and iOS did not play Ogg Vorbis until 2023), and so does every practice app and DAW a
drummer imports it into. Why constant bit rate: the byte offset of a moment is proportional to its
time, so a browser that seeks with an HTTP Range request lands where the listener clicked, with one
request (a VBR MP3 without a seek table, or an Ogg file, is searched by bisection or estimated).
At 192 kbit/s a 4-minute song is 5.8 MB per stem.

The samples are piped to ffmpeg block by block as float32, so no WAV file and no extra copy of the
song is made; a stem louder than full scale (a difference of two signals can be) is scaled down to
just below it rather than clipped. Encoding never fails the job: StemsFailed says why, the
transcriber marks the stems unavailable with that reason, and the sheet music is delivered.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from groovesheet_shared.jobs import Stems
from groovesheet_shared.outputs import STEM_BITRATE_KBPS, STEM_FILES

# One block of samples piped at a time: 10 s of stereo float32 is 3.5 MB.
BLOCK_SECONDS = 10.0
PEAK = 0.999
DRUMS_ONLY = Stems.unavailable(
    "drums_only",
    "This song was uploaded as a drum-only recording, so the drums were not separated from anything: "
    "there is no separate drum track or song without drums. Your upload itself is the drum track.",
)


class StemsFailed(Exception):
    """ffmpeg did not produce a stem (missing, crashed, timed out, wrote nothing)."""


# What the job result says when StemsFailed; its details (ffmpeg's words, paths) go to the log only.
ENCODING_FAILED = Stems.unavailable(
    "encoding_failed",
    "The drum track and the song without drums could not be encoded for this song. The sheet music, "
    "MIDI and PDF are complete; upload the song again to try the stems once more.",
)
DISABLED = Stems.unavailable("disabled", "This server is set up not to make stems (STEMS=false).")


# LAME's algorithm quality (0 best and slowest, 9 fastest): 7 encodes a 2-minute stereo stem in 0.7 s
# of CPU against 1.2 s at ffmpeg's default, and at 192 kbit/s a play-along track sounds the same.
LAME_QUALITY = 7


@dataclass(frozen=True)
class StemEncoder:
    ffmpeg: str = "ffmpeg"
    bitrate_kbps: int = STEM_BITRATE_KBPS
    timeout_seconds: float = 300.0

    def encode(
        self, samples: Callable[[int, int], np.ndarray], length: int, sample_rate: int, target: Path
    ) -> Path:
        """Encode ``length`` stereo samples to an MP3 at ``target``.

        ``samples(start, stop)`` gives (2, stop - start) float32 for that span, so a stem that is
        computed (the mix minus the drums) is computed one block at a time.
        """
        gain = _gain(samples, length, sample_rate)
        command = [
            self.ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "f32le", "-ar", str(sample_rate), "-ac", "2", "-i", "pipe:0",
            "-vn", "-c:a", "libmp3lame", "-b:a", f"{self.bitrate_kbps}k",
            "-compression_level", str(LAME_QUALITY),
            "-ar", str(sample_rate), "-ac", "2", "-f", "mp3", str(target),
        ]  # fmt: skip
        block = max(1, int(BLOCK_SECONDS * sample_rate))
        # stderr goes to a file: a pipe nobody reads while stdin is written could fill and stall ffmpeg.
        with tempfile.TemporaryFile() as errors:
            try:
                # Its own process group, so a timeout stops it and anything it started.
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                    start_new_session=True,
                )
            except OSError as exc:
                raise StemsFailed(f"ffmpeg could not be started: {exc.strerror or exc}") from None
            assert process.stdin is not None
            timed_out = threading.Event()

            def stop() -> None:
                timed_out.set()
                _kill(process)

            timer = threading.Timer(self.timeout_seconds, stop)
            timer.start()
            try:
                try:
                    for start in range(0, length, block):
                        part = samples(start, min(start + block, length))
                        if gain != 1.0:
                            part = part * np.float32(gain)
                        process.stdin.write(np.ascontiguousarray(part.T, dtype="<f4").tobytes())
                    process.stdin.close()
                except BrokenPipeError:
                    pass  # ffmpeg stopped reading: its exit code and message say why
                code = process.wait()
            finally:
                timer.cancel()
                with contextlib.suppress(OSError):
                    process.stdin.close()
                if process.poll() is None:
                    _kill(process)
                    process.wait()
            if timed_out.is_set():
                raise StemsFailed(f"ffmpeg took longer than {self.timeout_seconds:.0f} s")
            errors.seek(0)
            message = " | ".join(errors.read().decode(errors="replace").strip().splitlines()[-3:])
        if code != 0 or not target.is_file() or target.stat().st_size == 0:
            raise StemsFailed(f"ffmpeg could not encode the MP3 (exit {code}): {message or 'no message'}")
        return target

    def encode_stems(
        self, mix: np.ndarray, drums: np.ndarray, sample_rate: int, work_dir: Path
    ) -> dict[str, Path]:
        """Both stems of ``mix`` and its ``drums`` ((2, samples) each), keyed by stored object name.

        The two encoders run side by side (LAME uses one core each). Raises StemsFailed.
        """
        if mix.shape != drums.shape or mix.ndim != 2 or mix.shape[0] != 2:
            raise StemsFailed(f"the mix {mix.shape} and the drum stem {drums.shape} do not match")
        length = mix.shape[1]
        jobs: dict[str, Callable[[int, int], np.ndarray]] = {
            STEM_FILES["drums"]: lambda a, b: drums[:, a:b],
            STEM_FILES["no_drums"]: lambda a, b: mix[:, a:b] - drums[:, a:b],
        }
        with ThreadPoolExecutor(max_workers=len(jobs), thread_name_prefix="stem") as pool:
            futures = {
                name: pool.submit(self.encode, samples, length, sample_rate, work_dir / name)
                for name, samples in jobs.items()
            }
            return {name: future.result() for name, future in futures.items()}


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def _gain(samples: Callable[[int, int], np.ndarray], length: int, sample_rate: int) -> float:
    """1.0, or what brings the stem's peak just below full scale (MP3 cannot hold more)."""
    block = max(1, int(BLOCK_SECONDS * sample_rate))
    peak = 0.0
    for start in range(0, length, block):
        peak = max(peak, float(np.max(np.abs(samples(start, min(start + block, length))), initial=0.0)))
    return PEAK / peak if peak > PEAK else 1.0
