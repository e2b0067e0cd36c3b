"""What a finished job produces, in one table: the worker stores these objects, the API serves them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputKind:
    kind: str  # the ?format= a client asks for
    file_name: str  # the object stored under jobs/{job_id}/
    media_type: str
    suffix: str  # of the file name a download is saved as
    label: str = "transcription"  # after the song's name in that file name

    def download_name(self, stem: str) -> str:
        return f"{stem}_{self.label}{self.suffix}"


OUTPUTS: dict[str, OutputKind] = {
    output.kind: output
    for output in (
        OutputKind("musicxml", "output.musicxml", "application/vnd.recordare.musicxml+xml", ".musicxml"),
        OutputKind("midi", "output.mid", "audio/midi", ".mid"),
        OutputKind("json", "events.json", "application/json", ".json"),
        # One PDF per paper size (PDF_FILES); file_name is the default, A4.
        OutputKind("pdf", "output.a4.pdf", "application/pdf", ".pdf"),
        # The stems, when separation ran (STEM_FILES): MP3, constant 192 kbit/s, served with Range.
        OutputKind("drums", "stem.drums.mp3", "audio/mpeg", ".mp3", label="drums"),
        OutputKind("no_drums", "stem.no_drums.mp3", "audio/mpeg", ".mp3", label="no_drums"),
    )
}
DEFAULT_OUTPUT = "musicxml"
# The engraved sheet, per ?paper= (the worker's groovesheet_worker.engraving writes both).
PDF_FILES: dict[str, str] = {"a4": "output.a4.pdf", "letter": "output.letter.pdf"}

# The audio stems (groovesheet_worker.pipeline.stems), kind -> stored object name: the separated drum
# track, and the song without it (mix minus drum stem) to play along with. Only a job whose song went
# through separation has them (JobResult.stems says whether and, if not, why); they are removed with the
# uploaded song after INPUT_RETENTION_DAYS, since together they are the user's recording.
STEM_FILES: dict[str, str] = {kind: OUTPUTS[kind].file_name for kind in ("drums", "no_drums")}
STEM_BITRATE_KBPS = 192

# Kind -> stored object name of what the pipeline writes for every job (the PDFs are engraved after
# it, by the worker; the stems only when separation ran).
OUTPUT_FILES: dict[str, str] = {
    kind: output.file_name for kind, output in OUTPUTS.items() if kind != "pdf" and kind not in STEM_FILES
}
MEDIA_TYPE_BY_FILE: dict[str, str] = {
    **{output.file_name: output.media_type for output in OUTPUTS.values()},
    **{name: "application/pdf" for name in PDF_FILES.values()},
}
