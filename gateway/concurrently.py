"""Running vendor calls side by side, with errors that stay what they are.

asyncio.TaskGroup cancels the siblings of a failed call (good: no stray vendor requests) but
wraps the failure in an ExceptionGroup, which would reach clients as a 500 instead of the
gateway error it is. This unwraps it: the first failure is raised as itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar, overload

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")


@overload
async def concurrently(first: Awaitable[A], second: Awaitable[B], /) -> tuple[A, B]: ...


@overload
async def concurrently(*awaitables: Awaitable[T]) -> tuple[T, ...]: ...


async def concurrently(*awaitables: Awaitable[Any]) -> tuple[Any, ...]:
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_run(a)) for a in awaitables]
    except BaseExceptionGroup as failures:
        raise _first(failures) from None
    return tuple(task.result() for task in tasks)


async def _run(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
