"""PHP query strings: ``parse_str`` to read them, ``http_build_query`` to write them.

Laravel reads its input with PHP's rules (``a[b]=1`` nests, ``a[]=2`` appends, dots and
spaces in a top-level name become ``_``, later values win), and its paginator writes links
with ``http_build_query(..., PHP_QUERY_RFC3986)``, so ``filter[first_name]`` comes out as
``filter%5Bfirst_name%5D``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_plus

from sandboxes.toolkit.aliases import JsonObject

__all__ = ["php_build", "php_parse"]

_SEGMENT = re.compile(r"\[([^\]]*)\]")


def php_parse(qs: str) -> JsonObject:
    """``parse_str``: ``a[b]=1&a[]=2`` -> ``{"a": {"b": "1", "0": "2"}}``; later values win."""
    out: JsonObject = {}
    for pair in qs.split("&"):
        if not pair:
            continue
        raw_key, _, raw_value = pair.partition("=")
        key, value = unquote_plus(raw_key).lstrip(" "), unquote_plus(raw_value)
        bracket = key.find("[")
        segments: list[str] = []
        if bracket > 0 and "]" in key[bracket:]:
            base, rest = key[:bracket], key[bracket:]
            pos = 0
            while (segment := _SEGMENT.match(rest, pos)) is not None:
                segments.append(segment.group(1))
                pos = segment.end()
        else:
            base = key
        base = base.replace(".", "_").replace(" ", "_").replace("[", "_")
        if not base:
            continue
        node = out
        path = [base, *segments]
        for depth, seg in enumerate(path):
            if seg == "" and depth > 0:
                seg = str(max((int(name) + 1 for name in node if name.isascii() and name.isdigit()), default=0))
            if depth == len(path) - 1:
                node[seg] = value
            else:
                child = node.get(seg)
                if not isinstance(child, dict):
                    child = node[seg] = {}
                node = child
    return out


def php_build(data: JsonObject, prefix: str | None = None) -> list[str]:
    """``http_build_query(..., PHP_QUERY_RFC3986)`` as ``key=value`` parts; nulls dropped."""
    parts: list[str] = []
    for name, value in data.items():
        key = name if prefix is None else f"{prefix}[{name}]"
        if isinstance(value, dict):
            parts += php_build(value, key)
        elif isinstance(value, list):
            parts += php_build({str(index): item for index, item in enumerate(value)}, key)
        elif value is not None:
            text = ("1" if value else "0") if isinstance(value, bool) else str(value)
            parts.append(f"{quote(key, safe='-_.~')}={quote(text, safe='-_.~')}")
    return parts
