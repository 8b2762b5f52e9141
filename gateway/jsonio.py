"""JSON in and out of the gateway, with orjson (measured ~3x cheaper than json; docs/architecture.md)."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any, *, pretty: bool = False) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 if pretty else 0)


def loads(data: bytes | str) -> Any:
    return orjson.loads(data)
