"""Log lines: one JSON object per line (for log shippers), or a readable line (the demo).

Every line carries the time, level, logger and message, and, written while a request is
served, its request id, tenant and route template, and the trace and span ids when it is
traced. Every value is escaped: JSON escapes control characters, and both formats escape
whatever is not printable, so no input (a path with `%0d%0a`, a header) can end a line and
forge another. What goes into a message is the callers' business: method, route template,
status and time, never query strings, resource ids, PHI or tokens (gateway.logs).
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, Literal

import orjson

from gateway.logs import printable
from gateway.observability import context
from gateway.observability.tracing import current_ids

LogFormat = Literal["json", "text"]
# Fields of a record the access log adds (`extra=`): copied into the line when present.
ACCESS_FIELDS = ("method", "route", "resource_type", "status", "duration_ms", "vendor_calls")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    request = context.current.get()
    if request is not None:
        fields["request_id"] = request.request_id
        if request.tenant:
            fields["tenant"] = request.tenant
        if request.route:
            fields["route"] = request.route
    ids = current_ids()
    if ids is not None:
        fields["trace_id"], fields["span_id"] = ids
    for name in ACCESS_FIELDS:
        value = record.__dict__.get(name)
        if value is not None:
            fields[name] = value
    return {name: printable(value) if isinstance(value, str) else value for name, value in fields.items()}


def _time(record: logging.LogRecord) -> str:
    seconds = int(record.created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(record.msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,  # which worker (`serve --workers N`)
            "message": printable(record.getMessage()),
            **_fields(record),
        }
        if record.exc_info:
            line["exception"] = printable(self.formatException(record.exc_info))
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{name}={value}" for name, value in _fields(record).items() if name not in ACCESS_FIELDS)
        line = f"{_time(record)} {record.levelname:<7} {record.name}: {printable(record.getMessage())}"
        if extra:
            line += f"  [{extra}]"
        if record.exc_info:
            # One line still: a traceback's text can quote input.
            line += " | " + printable(self.formatException(record.exc_info))
        return line


def formatter(kind: LogFormat) -> logging.Formatter:
    return JsonFormatter() if kind == "json" else TextFormatter()


def setup_logging(kind: LogFormat, level: str) -> None:
    """The root logger writes `kind` lines to stderr at `level`; uvicorn's loggers reach it too
    (`fhir-gateway serve` runs uvicorn with log_config=None)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(kind))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
