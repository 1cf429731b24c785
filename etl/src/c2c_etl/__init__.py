"""Spark + Delta jobs that turn the C2C fashion store's source files into bronze, silver and gold."""

from __future__ import annotations

__version__ = "0.1.0"
