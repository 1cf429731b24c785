"""Operator runbook commands of the C2C lakehouse (``c2c-ops``)."""
