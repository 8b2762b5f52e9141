"""JSON paths in problem messages, written the FHIRPath way: ``Patient.identifier[0].system``."""

from __future__ import annotations

from collections.abc import Iterable


def format_path(root: str, parts: Iterable[str | int]) -> str:
    """``root`` followed by ``.key`` for each key and ``[i]`` for each list index."""
    path = root
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
