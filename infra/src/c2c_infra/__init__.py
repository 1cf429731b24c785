"""CDK Terrain stacks for the C2C lakehouse on Azure: a platform and a workspace stack per env."""

from __future__ import annotations

__version__ = "0.1.0"
