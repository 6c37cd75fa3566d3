"""Studies: configuration, the task chain MD → analysis → report, caching and provenance."""

from .config import StudyConfig, load_config
from .study import run_study

__all__ = ["StudyConfig", "load_config", "run_study"]
