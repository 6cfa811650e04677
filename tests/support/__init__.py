"""Plain helpers shared by the test modules (no fixtures: those live in tests/conftest.py).

A test module imports helpers from here, never from another test module nor from tests.conftest.
"""
