"""Spark + Delta jobs turning the C2C fashion store source files into bronze, silver and gold."""

from __future__ import annotations

__version__ = "0.1.0"
