"""What a finished job produces, in one table: the worker stores these objects, the API serves them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputKind:
    kind: str  # the ?format= a client asks for
    file_name: str  # the object stored under jobs/{job_id}/
    media_type: str
    suffix: str  # of the file name a download is saved as

    def download_name(self, stem: str) -> str:
        return f"{stem}_transcription{self.suffix}"


OUTPUTS: dict[str, OutputKind] = {
    output.kind: output
    for output in (
        OutputKind("musicxml", "output.musicxml", "application/vnd.recordare.musicxml+xml", ".musicxml"),
        OutputKind("midi", "output.mid", "audio/midi", ".mid"),
        OutputKind("json", "events.json", "application/json", ".json"),
        # One PDF per paper size (PDF_FILES); file_name is the default, A4.
        OutputKind("pdf", "output.a4.pdf", "application/pdf", ".pdf"),
    )
}
DEFAULT_OUTPUT = "musicxml"
# The engraved sheet, per ?paper= (the worker's groovesheet_worker.engraving writes both).
PDF_FILES: dict[str, str] = {"a4": "output.a4.pdf", "letter": "output.letter.pdf"}

# Kind -> stored object name, for the pipeline that writes them (the PDFs are engraved after it, by the worker).
OUTPUT_FILES: dict[str, str] = {kind: output.file_name for kind, output in OUTPUTS.items() if kind != "pdf"}
MEDIA_TYPE_BY_FILE: dict[str, str] = {
    **{output.file_name: output.media_type for output in OUTPUTS.values()},
    **{name: "application/pdf" for name in PDF_FILES.values()},
}
