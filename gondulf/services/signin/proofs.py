"""The ways a person proves who they are, behind one interface.

A sign-in session keeps the state of the proof under way as one opaque JSON
value (storage never looks inside). Each method owns its state type; the
composition root hands the session store a loader for the methods in use.
The emailed code (email_code.py) is the first; a second method (passkeys) is
a new state type and a new module beside it, with no change to sessions or
storage.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import ClassVar, Protocol


class ProofState(Protocol):
    METHOD: ClassVar[str]  # the name the state is stored under

    @property
    def email(self) -> str | None:
        """The address the person proved they read, if the method proves one."""

    def to_json(self) -> str:
        """JSON with a "method" key naming METHOD."""


ProofLoader = Callable[[str], ProofState]


def loader(**methods: Callable[[str], ProofState]) -> ProofLoader:
    """Reads back a stored state of any of `methods`: `loader(email=EmailProof.from_json)`."""

    def load(text: str) -> ProofState:
        method = json.loads(text).get("method")
        if method not in methods:
            raise ValueError(f"unknown proof method {method!r}")
        return methods[method](text)

    return load
