"""Groovesheet API: takes uploads, reports job status, serves downloads and the web page."""
