"""Backends that run a trial's training."""

from sweeps.backends.base import Backend, RunningJob
from sweeps.backends.command import CommandBackend, CommandJob, free_port, has_checkpoint

__all__ = ["Backend", "CommandBackend", "CommandJob", "RunningJob", "free_port", "has_checkpoint"]
