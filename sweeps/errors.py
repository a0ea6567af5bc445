"""The errors a user can fix: the CLI prints them as one line and exits 2 (everything else is a
bug and keeps its traceback), as Optuna's ``exceptions.py`` does for its CLI."""

from __future__ import annotations

import errno
from dataclasses import dataclass

#: problems of a space listed; the rest are counted in one last line
MAX_PROBLEMS = 20


class UserError(Exception):
    """Base class of every error that a user's input or action causes, with the fix in its
    message."""

    #: the command line's exit code for it
    exit_code = 2


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


class EmptyLogError(NoResultError):
    """A training log with no validation record in it."""

    exit_code = 1


class AllTrialsFailedError(UserError):
    """Every trial a run launched failed (their reasons are in ``status`` and MLflow)."""

    exit_code = 1


class ConfigWriteError(UserError):
    """Overrides that a config file with ``_base_`` cannot express."""


class ParameterValueError(UserError):
    """A trial's parameters miss one of the space's parameters."""


class SweepBusyError(UserError):
    """Another driver is running the sweep."""


class WorkDirBusyError(UserError):
    """An earlier launch still trains in a trial's work dir."""


class SweepInterruptedError(UserError):
    """Ctrl-C or SIGTERM stopped the sweep: its trainings were stopped, its running trials kept
    as interrupted for ``aqr-sweep resume``."""

    exit_code = 130


class PreflightError(UserError):
    """The preflight found that the sweep cannot give results: the first trial's command fails,
    or a knob changes nothing the training computes."""


class SweepHaltedError(UserError):
    """A failure that every trial would repeat (the metric is never logged) stopped the sweep."""


class DiskFullError(UserError):
    """The disk (or quota) of the sweep folder or the MLflow store is full."""


class RayClusterError(UserError):
    """No Ray cluster answers at the address given."""


def is_disk_full(err: BaseException | None) -> bool:
    """Whether an error, or one it came from, is a full disk or quota (as ``OSError``, or as
    sqlite's and MLflow's words for it)."""
    while err is not None:
        if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if "disk is full" in str(err) or "No space left on device" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


class DamagedStoreError(UserError):
    """A sweep's study or record cannot be read."""


class BadNameError(UserError):
    """A sweep name that is not one safe folder name (``..``, ``a/b``, an absolute path)."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a space file."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        """``file:line: field: message`` on one line: control characters escaped, long parts
        shortened in the middle (a message ends with its fix)."""
        return (f"{one_line(self.file, 400)}:{self.line}: {one_line(self.field, 200)}: "
                f"{one_line(self.message, 1500)}")


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` on one line: control characters (newlines too) escaped, and with ``limit``,
    shortened in the middle (a message ends with its fix)."""
    if limit is not None and len(text) > limit:
        text = f"{text[:limit // 2]} ... {text[-(limit // 2):]}"
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


class SpaceError(UserError):
    """A space file that cannot be used; ``problems`` says where and why (at most
    :data:`MAX_PROBLEMS`, then one line that counts the rest)."""

    def __init__(self, problems: list[Problem], more: int = 0) -> None:
        """``more``: problems found but not given (counted in the last line)."""
        shown = problems[:MAX_PROBLEMS - 1] if more or len(problems) > MAX_PROBLEMS else problems
        more += len(problems) - len(shown)
        if more:
            shown = [*shown, Problem(problems[0].file if problems else "<space>", 0, "space",
                                     f"{more} more problems not shown; fix the ones above and "
                                     "validate again")]
        problems = shown
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class SurfaceError(UserError):
    """A surface table that cannot be read or does not fit the space."""
