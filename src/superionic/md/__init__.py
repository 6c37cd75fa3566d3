"""Molecular dynamics protocols (ASE engine), checkpoints and writers."""

from .run import MDSettings, run_nvt

__all__ = ["MDSettings", "run_nvt"]
