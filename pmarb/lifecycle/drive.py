"""Running a program against a driver: send each step's answer back, hand failures back in.

A program yields steps and returns its result; the driver's ``perform`` turns one step into its
answer (awaiting it, or yielding the waits it takes). Failures of the types in ``hand_back`` are
thrown into the program at the step that raised them (so its compensations run); any other
failure propagates to the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, TypeVar

Step = TypeVar("Step")
Result = TypeVar("Result")
Wait = TypeVar("Wait")
Failures = type[BaseException] | tuple[type[BaseException], ...]


async def perform_awaiting(
    program: Generator[Step, Any, Result],
    perform: Callable[[Step], Awaitable[Any]],
    hand_back: Failures = (),
) -> Result:
    answer: Any = None
    failure: BaseException | None = None
    while True:
        try:
            step = program.throw(failure) if failure is not None else program.send(answer)
        except StopIteration as done:
            result: Result = done.value
            return result
        failure = None
        try:
            answer = await perform(step)
        except GeneratorExit:
            raise  # the driver itself is being closed (a workflow evicted): nothing to hand back
        except hand_back as error:
            failure = error


def perform_yielding(
    program: Generator[Step, Any, Result],
    perform: Callable[[Step], Generator[Wait, None, Any]],
    hand_back: Failures = (),
) -> Generator[Wait, None, Result]:
    answer: Any = None
    failure: BaseException | None = None
    while True:
        try:
            step = program.throw(failure) if failure is not None else program.send(answer)
        except StopIteration as done:
            result: Result = done.value
            return result
        failure = None
        try:
            answer = yield from perform(step)
        except GeneratorExit:
            raise
        except hand_back as error:
            failure = error
