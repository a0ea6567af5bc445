"""Where a space's ``base_config`` is: absolute, or relative to the space file (as mmengine
resolves ``_base_``), or to the working directory."""

from __future__ import annotations

from pathlib import Path

from sweeps.space import SweepSpace


def resolve_base_config(space: SweepSpace, space_file: Path) -> Path:
    """The base config as an absolute path.

    Raises:
        SpaceError: at the line of ``base_config``, naming the places looked in.
    """
    given = Path(space.base_config).expanduser()
    candidates = [given] if given.is_absolute() else [space_file.parent / given, Path.cwd() / given]
    for path in candidates:
        if path.is_file():
            return path.resolve()
    looked = ", ".join(str(c.parent.absolute()) for c in candidates)
    raise space.problem("base_config", f"file not found: {space.base_config} (looked in "
                                       f"{looked}); give a path relative to the space file")
