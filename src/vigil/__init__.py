"""Vigil: an always-on, local-first AI operations companion for developers."""

__version__ = "0.1.0"
