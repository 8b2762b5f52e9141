"""Where audit lines go: standard output (a container's log collector), or a file rotated by
size. A line that cannot be written raises `AuditUnavailable`: the caller decides whether the
request may go on unaudited (never, unless configured for a demo)."""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import select
import sys
import threading
import time
from pathlib import Path
from typing import Any, Protocol

from gateway import jsonio
from gateway.settings import AuditSettings, ConfigError
from gateway.text import escaped


class AuditUnavailable(Exception):
    pass


def audit_line(event: dict[str, Any]) -> bytes:
    """The event as one line of JSON. Text UTF-8 cannot carry (a lone surrogate, from whatever
    a client sent) is written as its escape (`\\ud800`), never the reason a line is lost."""
    try:
        return jsonio.dumps(event)
    except TypeError:
        pass
    try:
        return jsonio.dumps(escaped(event))
    except TypeError as exc:
        raise AuditUnavailable(f"the event is not JSON: {exc}") from None


class AuditSink(Protocol):
    def write(self, event: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class StdoutSink:
    """Each line is one write(2) to standard output's descriptor, before the answer goes out:
    no text layer to encode through and flush (a line is far below PIPE_BUF, so lines from
    several workers on one pipe never interleave). Where standard output is not a descriptor
    (replaced in-process), the line goes through its text layer instead.

    A line is written whole or not at all, as far as a descriptor allows: a non-blocking one
    that is full refuses the line (the request is answered 503); one that took part of a line
    is waited on (up to `FINISH_WITHIN`) for the rest. Should the rest still not go out, the
    next line starts on a line of its own, so one torn line never corrupts the ones after it."""

    FINISH_WITHIN = 1.0  # seconds to wait for a full descriptor to take the rest of a line

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._torn = False  # the last line was cut short: the next one starts with a newline

    def write(self, event: dict[str, Any]) -> None:
        line = audit_line(event) + b"\n"
        try:
            with self._lock:
                try:
                    descriptor = sys.stdout.fileno()
                except (io.UnsupportedOperation, AttributeError, ValueError):
                    sys.stdout.write(line.decode())
                    sys.stdout.flush()
                    return
                sys.stdout.flush()  # anything already written through the text layer goes first
                self._write_whole(descriptor, b"\n" + line if self._torn else line)
        except (OSError, ValueError, AttributeError) as exc:
            raise AuditUnavailable(f"standard output: {exc}") from None

    def _write_whole(self, descriptor: int, line: bytes) -> None:
        written = 0
        deadline = time.monotonic() + self.FINISH_WITHIN
        while written < len(line):
            try:
                written += os.write(descriptor, line[written:])
            except BlockingIOError:
                if written == 0 or time.monotonic() > deadline:
                    self._torn = written > 0
                    raise
                select.select([], [descriptor], [], max(0.0, deadline - time.monotonic()))
        self._torn = False

    def close(self) -> None:
        return None


class _Raising(logging.handlers.RotatingFileHandler):
    """The standard library's size-rotated file, except that a failed write is an error here
    (logging's default prints it and carries on, which would lose the audit line)."""

    def handleError(self, record: logging.LogRecord) -> None:
        raise AuditUnavailable(f"{self.baseFilename}: {sys.exc_info()[1]}")


class FileSink:
    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"audit.path: cannot create the directory of {path}: {exc.strerror}") from None
        self._handler = _Raising(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
        self._handler.setFormatter(logging.Formatter("%(message)s"))

    def write(self, event: dict[str, Any]) -> None:
        record = logging.LogRecord("audit", logging.INFO, "", 0, audit_line(event).decode(), None, None)
        try:
            self._handler.emit(record)
        except OSError as exc:
            raise AuditUnavailable(str(exc)) from None

    def close(self) -> None:
        self._handler.close()


class NoSink:
    def write(self, event: dict[str, Any]) -> None:
        return None

    def close(self) -> None:
        return None


def check_audit_path(conf: AuditSettings) -> None:
    """Raise ConfigError unless the file sink could write at `audit.path`, without creating
    anything (for `check-config`): the path is not a directory, nor a file this user cannot
    write; every directory above it that exists is one, and the deepest existing one is
    writable. (What then fails a write is met per request: 503, or served unaudited with
    `fail_open`.)"""
    if conf.sink != "file":
        return
    path = Path(conf.path).expanduser()
    if path.is_dir():
        raise ConfigError(f"audit.path: {path} is a directory; name the file to write in it")
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"audit.path: {path} is not writable by this user")
    for parent in path.parents:
        if not parent.exists():
            continue
        if not parent.is_dir():
            raise ConfigError(f"audit.path: {parent} is not a directory, so {path} cannot be created")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ConfigError(f"audit.path: {parent} is not writable by this user, so {path} cannot be created")
        return


def audit_sink(conf: AuditSettings) -> AuditSink:
    check_audit_path(conf)
    if conf.sink == "file":
        return FileSink(Path(conf.path).expanduser(), conf.max_bytes, conf.backups)
    if conf.sink == "stdout":
        return StdoutSink()
    return NoSink()
