"""Fixtures used across the test suite: the real Pub/Sub and GCS emulators live in tests/emulators.py."""

pytest_plugins = ["tests.emulators"]
