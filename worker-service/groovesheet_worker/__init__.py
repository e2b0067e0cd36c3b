"""Groovesheet worker: takes queued jobs and turns songs into drum sheet music."""
