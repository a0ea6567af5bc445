"""Backends that run a trial's training."""

from sweeps.backends.base import Backend, RunningJob
from sweeps.backends.checkpoints import has_checkpoint, rewind_to_validated
from sweeps.backends.command import OUTPUT_FILE, CommandBackend, CommandJob, free_port

__all__ = ["OUTPUT_FILE", "Backend", "CommandBackend", "CommandJob", "RunningJob", "free_port",
           "has_checkpoint", "rewind_to_validated"]
