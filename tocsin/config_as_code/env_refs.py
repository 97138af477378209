"""Secrets in a document. Write-only values — a forwarder's integration key, a chat webhook's URL
(it holds the channel's token), a webhook subscription's custom header values — are never shown by
the API and never written in a document: an entry names the environment variable that holds each,
as ``{env: NAME}``, and ``tocsin apply`` reads it when it creates the object. ``tocsin export``
writes a name made from the object's key (``derived``), so an exported file says which variables a
round trip needs. Pure: the environment is passed in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def reference(value: Any) -> dict[str, str]:
    """The canonical ``{"env": NAME}``, or ValueError saying what to write instead."""
    if isinstance(value, Mapping) and set(value) == {"env"} and isinstance(value["env"], str) \
            and VARIABLE.match(value["env"]):
        return {"env": value["env"]}
    if isinstance(value, str):
        raise ValueError("a secret is not written in a document: write {env: VARIABLE} and set VARIABLE where "
                         "tocsin apply runs")
    raise ValueError("must be {env: VARIABLE}, naming the environment variable that holds the secret")


def derived(*parts: str) -> dict[str, str]:
    """``TOCSIN_`` and the parts, upper-case, anything but letters and digits as ``_``."""
    words = [re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_").upper() for part in parts]
    return {"env": "_".join(["TOCSIN", *(w for w in words if w)])}


class MissingVariable(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"environment variable {name} is not set (the document names it for a secret; set it "
                         "where tocsin apply runs)")
        self.name = name


def resolve(ref: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The secret a reference names, or MissingVariable."""
    name = str(ref.get("env"))
    value = env.get(name)
    if not value:
        raise MissingVariable(name)
    return value
