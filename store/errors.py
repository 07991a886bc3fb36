"""The store layer's errors: every backend raises these, never its driver's own
(:func:`translated_by` makes a backend's repositories do so)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class StoreError(Exception):
    """The store refused an operation (retrying it unchanged does not help)."""


class StoreUnavailable(StoreError):
    """The store cannot serve now (unreachable, electing a primary, timing out): retry later.
    Nothing of a refused write was lost, and writes are idempotent, so a retry is safe."""


class StaleRevision(StoreError):
    """The experiment changed since the revision the caller read (or no longer exists)."""


Translate = Callable[[Exception], StoreError]


def translated_by(translate: Translate, driver_errors: tuple[type[Exception], ...]) -> Callable[[type[T]], type[T]]:
    """A class decorator: every public method of the class raises ``translate(error)`` instead of
    a driver's error (one of ``driver_errors``), also while the iterators it returns are read."""

    def translating(method: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.isgeneratorfunction(method):
            raise TypeError(f"{method.__name__}: return an iterator from a plain method")

        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = method(*args, **kwargs)
            except driver_errors as exc:
                raise translate(exc) from exc
            return iterating(result) if isinstance(result, Iterator) else result

        return call

    def iterating(items: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from items
        except driver_errors as exc:
            raise translate(exc) from exc

    def decorate(cls: type[T]) -> type[T]:
        for name, method in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(method):
                setattr(cls, name, translating(method))
        return cls

    return decorate
