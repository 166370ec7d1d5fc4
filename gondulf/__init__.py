"""Gondulf: a self-hosted IndieAuth server."""

__version__ = "0.1.0"
