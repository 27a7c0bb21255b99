"""YAML loading that remembers line numbers, so a bad inventory gets ``file:line: what``.

Inventories, waivers and kolla's globals are parsed by libyaml (``fast``: an inventory of
50 MB in a quarter of a second, where PyYAML's own parser took 14 s), whose nodes carry
their lines as PyYAML's do.

Hostile input ends in one :class:`InputError` line: a duplicate key (a second entry would
silently replace the first), a key that is not a string (``null:``, ``1:``), and aliases
that expand past :data:`MAX_NODES` nodes (a "billion laughs" file) are refused before any
object is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from afterboot.errors import InputError, shown

MAX_NODES = 100_000  # nodes after alias expansion; real inventories have a few thousand


class LineDict(dict[str, Any]):
    """A mapping from YAML that knows its own line and the line of each key (1-based)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a scalar Python cannot convert (an int of more digits
    than ``int()`` accepts, a date that does not exist: ``2027-02-30``) stays a string
    for the validation to name, instead of raising ``ValueError`` mid-parse."""


class FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """:class:`SafeLoader` on libyaml's parser where PyYAML has it (ten times faster: a
    file of many megabytes in a fraction of a second), PyYAML's own parser elsewhere.
    libyaml words its syntax errors its own way, and nests at most 1000 deep."""


def _lenient(loader: type[Any], tag: str) -> None:
    strict = loader.yaml_constructors[tag]

    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
        try:
            return strict(loader, node)
        except (ValueError, OverflowError):
            return str(node.value)

    loader.add_constructor(tag, construct)


for _loader in (SafeLoader, FastLoader):
    for _tag in ("int", "float", "timestamp"):
        _lenient(_loader, f"tag:yaml.org,2002:{_tag}")


class _Loader(SafeLoader):
    pass


class _FastLoader(FastLoader):
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            scalar = isinstance(key_node, yaml.ScalarNode)
            what = "null" if key is None else key_node.value if scalar else "(a collection)"
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {shown(what, quoted=False)} must be a string (quote it)",
                key_node.start_mark,
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {shown(key)} (first on line {result.key_lines[key]})",
                key_node.start_mark,
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


for _lines in (_Loader, _FastLoader):
    _lines.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True)
class Vaulted:
    """An inline ``!vault`` value of an Ansible file: its ciphertext, never shown."""

    ciphertext: str = ""

    def __repr__(self) -> str:
        return "<vault-encrypted>"


class Unsafe(str):
    """An Ansible ``!unsafe`` string: text, never a template."""


class _AnsibleLoader(_Loader):
    """Ansible's YAML: ``!vault`` values kept encrypted, ``!unsafe`` strings kept as text."""


class _FastAnsibleLoader(_FastLoader):
    """:class:`_AnsibleLoader` on libyaml's parser (an inventory of tens of megabytes)."""


def _vault(loader: yaml.SafeLoader, node: yaml.Node) -> Vaulted:
    if not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            "a !vault value must be a string (ansible-vault encrypt_string)",
            node.start_mark,
        )
    return Vaulted(str(loader.construct_scalar(node)))


def _unsafe(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return Unsafe(loader.construct_scalar(node))
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    assert isinstance(node, yaml.MappingNode)
    return _construct_mapping(loader, node)  # type: ignore[arg-type]


for _ansible in (_AnsibleLoader, _FastAnsibleLoader):
    _ansible.add_constructor("!vault", _vault)
    _ansible.add_constructor("!unsafe", _unsafe)


def _expanded_size(root: yaml.Node, limit: int) -> int:
    """Nodes the document has once every alias is expanded (stops counting past limit)."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # nodes whose children are being counted
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if not done and id(node) in open_:
            return limit + 1  # an alias inside its own anchor: infinite
        if isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        else:
            kids = []
        if done:
            sizes[id(node)] = min(limit + 1, 1 + sum(sizes.get(id(k), 0) for k in kids))
            continue
        open_.add(id(node))
        stack.append((node, True))
        stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes[id(root)]


class TooLarge(yaml.YAMLError):
    """A document whose aliases expand past :data:`MAX_NODES` nodes ("billion laughs")."""

    def __init__(self, line: int) -> None:
        super().__init__(f"YAML expands to more than {MAX_NODES} nodes (aliases?); refused")
        self.line = line  # where the document starts (1-based)


def bounded_load(text: str, loader_class: type[Any] = SafeLoader) -> Any:
    """``yaml.load`` with ``loader_class`` (our strict :class:`SafeLoader` by default),
    refusing a document that expands past :data:`MAX_NODES` nodes: :class:`TooLarge`, a
    ``yaml.YAMLError`` like any other the caller already turns into one line."""
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, MAX_NODES) > MAX_NODES:
            raise TooLarge(node.start_mark.line + 1)
        return loader.construct_document(node)
    finally:
        loader.dispose()


_LOADERS = {  # (ansible, fast) -> loader
    (False, False): _Loader,
    (False, True): _FastLoader,
    (True, False): _AnsibleLoader,
    (True, True): _FastAnsibleLoader,
}


def _reader_line(text: str, exc: yaml.reader.ReaderError) -> int:
    """The line of a character the reader refused: PyYAML's reader counts characters,
    libyaml's bytes of the UTF-8 text."""
    if exc.encoding == "unicode":
        return text.count("\n", 0, exc.position) + 1
    return text.encode("utf-8", "surrogatepass").count(b"\n", 0, exc.position) + 1


def load_yaml(text: str, source: str, *, ansible: bool = False, fast: bool = False) -> Any:
    """Parse YAML text (bounded like :func:`bounded_load`), its mappings :class:`LineDict`;
    a syntax error, or a document too large, becomes one :class:`InputError` line.
    ``ansible``: Ansible's tags too (``!vault`` as :class:`Vaulted`, ``!unsafe`` as
    :class:`Unsafe`); ``fast``: on libyaml's parser (:class:`FastLoader`: the same
    mappings with their lines; its syntax errors in its own words, with their line).
    An error libyaml gives no line is told again by PyYAML's parser, which reads the
    text again: only then, on the way to the error line."""
    try:
        return bounded_load(text, _LOADERS[ansible, fast])
    except TooLarge as exc:
        raise InputError(str(exc), source, exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if mark is None and fast:
            _again(text, source, ansible)
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError(
            f"invalid YAML: {problem}", source, mark.line + 1 if mark else None
        ) from None
    except yaml.reader.ReaderError as exc:
        character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else "?"
        raise InputError(
            f"invalid YAML: unacceptable character {character}: {exc.reason}",
            source,
            _reader_line(text, exc),
        ) from None
    except yaml.YAMLError as exc:
        if fast:
            _again(text, source, ansible)
        raise InputError(f"invalid YAML: {exc}", source) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", source) from None


def _again(text: str, source: str, ansible: bool) -> None:
    """The text parsed again by PyYAML's own parser, whose error says its line (an
    InputError); returns when it finds none."""
    load_yaml(text, source, ansible=ansible, fast=False)
