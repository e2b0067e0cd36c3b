"""The transcription pipeline, one module per stage (decode, separate, hits, tempo, quantize, write)."""
