"""Identical vendor reads within one gateway request, made once.

Assembling a patient's record (`$everything`, a CCD) runs each type's search, and each of them
checks the patient: the same GET half a dozen times within milliseconds. Inside a scope the REST
layer opens around each request (`shared_reads`), a GET whose connection, path, parameters and
headers equal one already made, or still in flight, takes that one's answer (or error) instead
of asking the vendor again. Any other method through a connection ends the sharing for the rest
of the request, since what follows may read what it changed. An answer that only says when to
ask again (a 429, or no turn under the vendor's request limit) goes to the reads waiting for
it, not to those made after it.

Tasks a request starts copy its context, so concurrent reads of one request share one scope;
two requests never share anything. A vendor's adapter may share what it derives from a read the
same way (the Dental PMS patient record, read and validated once per request): a write forgets
those too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar, cast

from gateway.errors import FHIRError, Throttled, copied

T = TypeVar("T")

_READS: ContextVar[dict[Hashable, asyncio.Future[object]] | None] = ContextVar("fhir_gateway_reads", default=None)


class _Abandoned(Exception):
    """The read another caller was waiting on was cancelled before it had an answer."""


@contextmanager
def shared_reads() -> Iterator[None]:
    """Share identical reads made inside the block (one gateway request)."""
    token = _READS.set({})
    try:
        yield
    finally:
        _READS.reset(token)


def forget_reads() -> None:
    """A write went out: reads from now on go to the vendor again."""
    reads = _READS.get()
    if reads is not None:
        reads.clear()


async def read_once(key: Hashable, read: Callable[[], Awaitable[T]], keep: Callable[[T], bool] | None = None) -> T:
    """`read()`, or the answer of the identical read (`key`) this request already made. An
    answer `keep` refuses is shared with the callers waiting for it, not with later reads."""
    reads = _READS.get()
    if reads is None:
        return await read()
    while True:
        shared = reads.get(key)
        if shared is None:
            break
        try:
            return cast(T, await asyncio.shield(shared))  # the answer of the same read
        except _Abandoned:
            continue  # its caller was cancelled: read it ourselves (or share the next attempt)
        except FHIRError as error:  # each caller its own copy (gateway.errors.copied)
            raise copied(error) from None
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    reads[key] = future
    try:
        answer = await read()
    except asyncio.CancelledError:
        _settle(reads, key, future, _Abandoned())
        raise
    except BaseException as exc:
        # Kept for the others as a copy: the error raised here holds this frame, which holds
        # `reads`; the copy has no frames, so no cycle keeps the request's reads alive.
        _settle(reads, key, future, copied(exc) if isinstance(exc, FHIRError) else exc)
        raise
    future.set_result(answer)
    if keep is not None and not keep(answer) and reads.get(key) is future:
        del reads[key]  # the next identical read asks again
    return answer


def _settle(
    reads: dict[Hashable, asyncio.Future[object]], key: Hashable, future: asyncio.Future[object], error: BaseException
) -> None:
    # Abandoned, or refused for now (a Throttled: the vendor's request limit, ours or its own,
    # says when to ask again, not what the read finds; RFC 6585 section 4): the callers waiting
    # share it, the next caller reads for itself.
    if isinstance(error, _Abandoned | Throttled) and reads.get(key) is future:
        del reads[key]
    future.set_exception(error)
    future.exception()  # retrieved here: nobody may be waiting for it
