"""Fixtures used across the test suite."""
