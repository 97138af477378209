"""The document as YAML text: written in a fixed order (sections, then each object's fields) so
a file diffs well in git; read with ``yaml.safe_load`` only (no Python objects from a file)."""

from __future__ import annotations

from typing import Any

import yaml

from tocsin.config_as_code.canonical import normalise, ordered
from tocsin.config_as_code.document import SECTIONS, VERSION, Document, DocumentError

HEADER = ("# Tocsin configuration (tocsin export). Objects refer to each other by name: users by email,\n"
          "# the rest by name. `tocsin apply FILE --plan` shows what applying it would change.\n"
          "# Secrets are never written here: {env: NAME} is the environment variable apply reads one from\n"
          "# when it creates the object (an integration key, a chat webhook's URL, a header value).\n")


class _Dumper(yaml.SafeDumper):
    """Block style, lists indented under their key (as people write YAML)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None  # multi-line descriptions stay readable
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(document: Document) -> str:
    body: dict[str, Any] = {"version": VERSION}
    for section in SECTIONS:
        if section.name in document:
            body[section.name] = [ordered(section, entry) for entry in document[section.name]]
    text = yaml.dump(body, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False,
                     width=120)
    return HEADER + text


def load(text: str) -> Document:
    """The canonical document of ``text``, or DocumentError naming every problem."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" (line {where.line + 1}, column {where.column + 1})" if where is not None else ""
        raise DocumentError([f"not valid YAML{at}: {getattr(exc, 'problem', None) or exc}"]) from None
    if raw is None:
        raw = {}
    return normalise(raw)
