"""Reading a space file defensively, as it may be anything: at most :data:`MAX_FILE_BYTES`, UTF-8
without NUL bytes, YAML nested at most :data:`MAX_DEPTH` deep and at most :data:`MAX_NODES` nodes
with its aliases expanded (a "billion laughs" file is refused before it is built), no duplicate
keys. It is read as YAML 1.2 (see :class:`_Resolver12`): only ``true``/``false`` are booleans, so
``yes``, ``no``, ``on``, ``off`` are strings; where such a bare word would reach a trial's config (a
categorical choice, a ``fixed`` or enqueued value, a pruner option) it is refused as ambiguous,
since a YAML 1.1 reader takes it for a boolean. Every problem is a :class:`Problem`, printed as
``file:line: field: message``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.error import Mark, MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError
from yaml.resolver import BaseResolver

from sweeps.errors import MAX_PROBLEMS, Problem, SpaceError

#: a space is a few KB: a bigger file is refused before it is read
MAX_FILE_BYTES = 1 << 20
#: mappings and lists nested in each other, aliases expanded (a space nests 4 or 5 deep)
MAX_DEPTH = 50
#: YAML nodes once aliases are expanded (a space holds a few hundred; a "billion laughs" file
#: holds 10**9)
MAX_NODES = 100_000

_STR, _BOOL = "tag:yaml.org,2002:str", "tag:yaml.org,2002:bool"
#: plain words that YAML 1.1 readers (PyYAML's ``safe_load`` among them) take for booleans
YAML11_BOOLEANS = frozenset({"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off",
                             "Off", "OFF"})


class _Resolver12(BaseResolver):
    """Implicit types of YAML 1.2's core schema: booleans are only ``true``/``false`` (in
    YAML 1.1 ``yes``/``no``/``on``/``off`` are booleans too); integers are decimal, ``0o``
    octal or ``0x`` hex (no ``1_000``, no ``010`` octal, no ``1:30`` sexagesimal); floats include
    ``.inf``/``.nan``; no implicit timestamps. ``<<`` merge keys are kept."""

    yaml_implicit_resolvers: dict = {}


for _tag, _pattern, _first in [
    (_BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("tag:yaml.org,2002:int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    ("tag:yaml.org,2002:float", r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                                r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", "-+0123456789."),
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"<<", "<"),
]:
    _Resolver12.add_implicit_resolver(_tag, re.compile(rf"^(?:{_pattern})$"), list(_first))


class _SpaceYAMLError(MarkedYAMLError):
    """A YAML file this module refuses (too deep, too big once expanded, a number it cannot
    read); its problem carries its own fix."""


class _Constructor12(SafeConstructor):
    """PyYAML's safe constructor, with YAML 1.2 integers and readable errors for numbers Python
    refuses (an integer of more than 4300 digits)."""

    def construct_yaml_int(self, node: ScalarNode) -> int:
        value = str(self.construct_scalar(node))
        try:
            if re.fullmatch(r"[-+]?[0-9]+", value):
                return int(value, 10)
            if re.fullmatch(r"0o[0-7]+|0x[0-9a-fA-F]+", value):
                return int(value[2:], 8 if value[1] == "o" else 16)
            return super().construct_yaml_int(node)
        except ValueError:
            shown = value if len(value) <= 20 else f"{value[:20]}... of {len(value)} characters"
            raise _SpaceYAMLError(None, None, f"cannot read the integer {shown}: Python reads at "
                                  "most 4300 digits; give a number of a sensible size",
                                  node.start_mark) from None

    def construct_yaml_float(self, node: ScalarNode) -> float:
        try:
            return super().construct_yaml_float(node)
        except ValueError:
            raise _SpaceYAMLError(None, None, f"{str(node.value)[:40]!r} is not a number; "
                                  "give a number such as 0.5", node.start_mark) from None


_Constructor12.add_constructor("tag:yaml.org,2002:int", _Constructor12.construct_yaml_int)
_Constructor12.add_constructor("tag:yaml.org,2002:float", _Constructor12.construct_yaml_float)

_LIBYAML = yaml.__with_libyaml__
if _LIBYAML:  # libyaml: 20x faster to parse, same events and marks
    from yaml.cyaml import CParser

    class _SpaceLoader(CParser, _Constructor12, _Resolver12):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _Constructor12.__init__(self)
            _Resolver12.__init__(self)
else:  # pragma: no cover - PyYAML built without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _SpaceLoader(Reader, Scanner, Parser, Composer, _Constructor12,  # type: ignore[no-redef]
                       _Resolver12):
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            _Constructor12.__init__(self)
            _Resolver12.__init__(self)


def _read_text(path: Path) -> str:
    """The file's text: a regular file of at most :data:`MAX_FILE_BYTES` (checked before it is
    read), UTF-8 (a BOM is dropped), without NUL bytes."""
    file = str(path)

    def refuse(line: int, message: str) -> SpaceError:
        return SpaceError([Problem(file, line, "file", message)])

    try:
        if not path.exists():
            raise refuse(0, "no such file; give the path of a space YAML such as "
                            "search_spaces/demo.yaml")
        if not path.is_file():
            raise refuse(0, "must be a regular file, but it is a directory, device or pipe; give "
                            "the path of a space YAML such as search_spaces/demo.yaml")
        size = path.stat().st_size
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1) if size <= MAX_FILE_BYTES else b""
    except OSError as err:
        raise refuse(0, f"cannot be read ({err.strerror or err}); check the path and its "
                        "permissions") from None
    if size > MAX_FILE_BYTES or len(raw) > MAX_FILE_BYTES:
        raise refuse(0, f"must be at most {MAX_FILE_BYTES} bytes (a space is a few KB), but it "
                        f"holds {max(size, len(raw))}; is this the right file?")
    nul = raw.find(b"\0")
    if nul >= 0:
        raise refuse(raw.count(b"\n", 0, nul) + 1, "holds a NUL byte: a space file is UTF-8 text "
                     "(is it binary, or UTF-16?); save it as UTF-8 text")
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise refuse(raw.count(b"\n", 0, err.start) + 1, f"must be UTF-8, but byte "
                     f"0x{raw[err.start]:02x} is not ({err.reason}); save the file as "
                     "UTF-8") from None


def _load_yaml(text: str, file: str) -> tuple[Node | None, Any]:
    """The YAML's root node (for line numbers) and its data.

    Raises:
        SpaceError: bad YAML (with yaml's problem and its line), too deep or too big once its
            aliases are expanded, duplicate keys, YAML 1.1 booleans where a config value goes.
    """
    try:
        _check_shape(text)
        loader = _SpaceLoader(text)
        try:
            root = loader.get_single_node()
            found = _tree_problems(root, loader)
            if found:
                raise SpaceError([Problem(file, mark.line + 1, ".".join(map(str, loc)) or "yaml",
                                          message) for mark, loc, message in found])
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        raise SpaceError([_yaml_problem(file, text, err)]) from None
    return root, data


def _check_shape(text: str) -> None:
    """Walk the YAML's events (no document is built): refuse nesting deeper than
    :data:`MAX_DEPTH`, more than :data:`MAX_NODES` nodes with aliases expanded (counted from each
    anchor's size, so a "billion laughs" file is refused in milliseconds) and an alias inside the
    node it names (a cycle)."""
    loader = _SpaceLoader(text)
    # per open collection: [anchor, expanded size, height of its deepest child collection]
    stack: list[list[Any]] = []
    anchors: dict[str, tuple[int, int] | None] = {}  # None: still open
    total = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise _SpaceYAMLError(None, None, f"nests deeper than {MAX_DEPTH} levels of "
                                          "mappings and lists (a space nests a few); flatten it",
                                          event.start_mark)
                stack.append([event.anchor, 1, 0])
                if event.anchor is not None:
                    anchors[event.anchor] = None
                size = 1
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, size, inner = stack.pop()
                height = inner + 1
                if anchor is not None:
                    anchors[anchor] = (size, height)
                if stack:
                    stack[-1][1] += size
                    stack[-1][2] = max(stack[-1][2], height)
                continue
            elif isinstance(event, yaml.AliasEvent):
                if event.anchor in anchors and anchors[event.anchor] is None:
                    raise _SpaceYAMLError(None, None, f"alias *{event.anchor} is inside the node "
                                          "it names (a cycle); a space holds plain data: remove "
                                          "the alias", event.start_mark)
                size, height = anchors.get(event.anchor) or (1, 0)  # undefined: composer says
                if len(stack) + height > MAX_DEPTH:
                    raise _SpaceYAMLError(None, None, f"alias *{event.anchor} nests deeper than "
                                          f"{MAX_DEPTH} levels of mappings and lists once "
                                          "expanded; flatten it", event.start_mark)
                if stack:
                    stack[-1][1] += size
                    stack[-1][2] = max(stack[-1][2], height)
            elif isinstance(event, yaml.ScalarEvent):
                size = 1
                if event.anchor is not None:
                    anchors[event.anchor] = (1, 0)
                if stack:
                    stack[-1][1] += 1
            else:
                continue
            total += size
            if total > MAX_NODES:
                fix = ("remove the aliases that multiply it (a billion laughs?)" if anchors
                       else "is this the right file?")
                raise _SpaceYAMLError(None, None, f"holds more than {MAX_NODES} YAML nodes once "
                                      f"its aliases are expanded (a space holds a few hundred); "
                                      f"{fix}", event.start_mark)
    finally:
        loader.dispose()


def _config_value(loc: list[str | int]) -> bool:
    """Whether ``loc`` is a value that goes into a trial's config or a pruner as it is."""
    return (loc[:1] == ["fixed"] and len(loc) > 1
            or loc[:1] == ["parameters"] and len(loc) > 3 and loc[2] == "choices"
            or loc[:2] == ["search", "enqueue"] and len(loc) > 4 and loc[3] == "params"
            or loc[:2] == ["pruner", "options"] and len(loc) > 2)


def _tree_problems(root: Node | None, loader: _SpaceLoader) -> list[tuple[Mark, list, str]]:
    """``(mark, loc, message)`` for duplicate keys (at any depth), NUL characters and lone
    surrogates (YAML escapes make them), and YAML 1.1 booleans (``yes``, ``off``, ...) written
    bare where a config value goes; in the file's order."""
    found: list[tuple[Mark, list, str]] = []
    stack: list[tuple[Node, list[str | int]]] = [(root, [])] if root is not None else []
    seen: set[int] = set()
    while stack and len(found) < MAX_PROBLEMS:
        node, loc = stack.pop()
        if isinstance(node, ScalarNode):
            value = str(node.value)
            if "\0" in value or any("\ud800" <= c <= "\udfff" for c in value):
                found.append((node.start_mark, loc, "holds a NUL character or a lone surrogate (a "
                              "\\0 or \\ud800 escape); remove it"))
            elif (not node.style and node.tag == _STR and value in YAML11_BOOLEANS
                  and _config_value(loc)):
                boolean = "true" if value.lower() in ("yes", "on") else "false"
                found.append((node.start_mark, loc, f"a bare {value} is a string in YAML 1.2 but "
                              f"{boolean} in YAML 1.1 (PyYAML's safe_load); write {boolean} for the "
                              f"boolean, or quote it ('{value}') for the string"))
            continue
        if id(node) in seen:  # an alias of a node already walked
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((item, [*loc, i]) for i, item in enumerate(node.value))
            continue
        first: dict[Any, int] = {}
        for key, value in node.value:
            name = str(key.value) if isinstance(key, ScalarNode) else "?"
            stack += [(key, [*loc, name]), (value, [*loc, name])]
            if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            ident, here = loader.construct_object(key), key.start_mark.line + 1
            try:
                if ident not in first:
                    first[ident] = here
                    continue
            except TypeError:  # an unhashable key: the constructor says so
                continue
            found.append((key.start_mark, [*loc, name], f"duplicate key {name!r}: first on line "
                          f"{first[ident]}, again on line {here}; YAML keeps only the last: "
                          "remove one"))
    return sorted(found, key=lambda f: (f[0].line, f[0].column))


def _yaml_problem(file: str, text: str, err: yaml.YAMLError) -> Problem:
    """yaml's problem and context, at the problem's line, with a fix."""
    if isinstance(err, ReaderError):
        # libyaml counts the position in UTF-8 bytes, PyYAML in characters
        head = text.encode("utf-8")[:err.position] if _LIBYAML else \
            text[:err.position].encode("utf-8")
        code = err.character if isinstance(err.character, int) else ord(err.character)
        return Problem(file, head.count(b"\n") + 1, "file", f"holds the character #x{code:04x} "
                       f"({err.reason}); a space file is plain text: remove it")
    if not isinstance(err, MarkedYAMLError):
        return Problem(file, 1, "yaml", f"{' '.join(str(err).split())}; check the YAML syntax")
    mark = err.problem_mark or err.context_mark
    line = mark.line + 1 if mark is not None else 1
    problem = err.problem or "cannot be read"
    if isinstance(err, _SpaceYAMLError):
        return Problem(file, line, "yaml", problem)
    if "maximum nesting depth" in problem:  # libyaml's own limit, met while scanning ahead
        return Problem(file, line, "yaml", f"nests deeper than {MAX_DEPTH} levels of mappings and "
                       "lists (a space nests a few); flatten it")
    opened = err.context_mark.line + 1 if err.context_mark is not None else line
    context = err.context or ""
    where = f" (line {opened})" if context and opened != line else ""
    message = f"{context}{where}: {problem}" if context else problem
    return Problem(file, line, "yaml", f"{message}; {_yaml_fix(text, line, context, problem, opened)}")


def _yaml_fix(text: str, line: int, context: str, problem: str, opened: int) -> str:
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\t" in here[:len(here) - len(here.lstrip())] or "'\\t'" in problem:
        return "indent with spaces: YAML does not allow tabs there"
    fixes = {"escape": "write a valid escape (\\uXXXX of a real character), or use single "
                       "quotes, where backslashes are plain",
             "flow mapping": f"close the '{{' opened on line {opened} with '}}' (and quote "
                             "values holding ':', ',' or '#')",
             "flow sequence": f"close the '[' opened on line {opened} with ']' (and quote "
                              "values holding ',' or '#')",
             "end of stream": f"close the quote or bracket opened on line {opened}",
             "undefined alias": "define the anchor (&name) before its alias (*name)",
             "duplicate anchor": "give each anchor its own name",
             "single document": "a space is one YAML document: remove the second one ('---')",
             "constructor for the tag": "remove the tag: a space holds plain data (strings, "
                                        "numbers, true/false, null, lists, mappings)"}
    return next((fix for key, fix in fixes.items() if key in context or key in problem),
                "check the YAML syntax there (indentation, ': ' after keys, quotes)")


def compose(path: Path) -> Node | None:
    """The root node of a space file for line numbers, or None if it cannot be read."""
    try:
        text = _read_text(path)
        _check_shape(text)
        loader = _SpaceLoader(text)
        try:
            return loader.get_single_node()
        finally:
            loader.dispose()
    except (SpaceError, yaml.YAMLError):
        return None


def line_of(node: Node | None, loc: list[str]) -> int:
    """1-based line of the deepest node on ``loc`` that exists in the YAML."""
    line = node.start_mark.line + 1 if node is not None else 0
    for part in loc:
        if isinstance(node, MappingNode):
            match = next(((k, v) for k, v in node.value if str(k.value) == part), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            break
    return line


def load_yaml(path: Path) -> tuple[Node | None, Any]:
    """A space file's root node (for line numbers) and its data.

    Raises:
        SpaceError: the file cannot be read, or is not YAML this module accepts.
    """
    return _load_yaml(_read_text(path), str(path))
