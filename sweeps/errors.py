"""The errors a user can fix: the CLI prints them as one line and exits 2 (everything else is a
bug and keeps its traceback), as Optuna's ``exceptions.py`` does for its CLI."""

from __future__ import annotations


class UserError(Exception):
    """Base class of every error that a user's input or action causes, with the fix in its
    message."""


class SweepExistsError(UserError):
    """A sweep of that name already ran trials."""


class SweepNotFoundError(UserError):
    """No sweep of that name under the sweeps' root."""


class BadOptionError(UserError):
    """A command-line option or argument that cannot be used."""


class MissingFileError(UserError):
    """A file the command needs (a space, a base config, a log) does not exist."""


class NoResultError(UserError):
    """The sweep holds nothing to answer the command yet (no completed trial, no record)."""


class ConfigWriteError(UserError):
    """Overrides that a config file with ``_base_`` cannot express."""


class ParameterValueError(UserError):
    """A trial's parameters miss one of the space's parameters."""


class SweepBusyError(UserError):
    """Another driver is running the sweep."""


class DamagedStoreError(UserError):
    """A sweep's study or record cannot be read."""


class BadNameError(UserError):
    """A sweep name that is not one safe folder name (``..``, ``a/b``, an absolute path)."""
