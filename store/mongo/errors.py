"""pymongo's errors as the store layer's: the one place that tells an outage from a refusal."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from bson.errors import BSONError
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WriteConcernError,
)

from store.errors import StoreError, StoreUnavailable

T = TypeVar("T")


def is_unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot take writes now (unreachable, electing a
    primary, timing out: retry later) rather than that it refuses what was sent (retrying never
    helps)."""
    if isinstance(error, BulkWriteError):
        return bool(error.details.get("writeConcernErrors")) and not error.details.get("writeErrors")
    if isinstance(error, (ConnectionFailure, WriteConcernError, ExecutionTimeout, OSError)):
        return True
    return isinstance(error, OperationFailure) and error.has_error_label("RetryableWriteError")


def translate(error: Exception) -> StoreError:
    """The store layer's error for a driver's ``error``."""
    kind = StoreUnavailable if is_unavailable(error) else StoreError
    return kind(f"{type(error).__name__}: {error}")


DRIVER_ERRORS = (PyMongoError, BSONError, OSError)


def _translating(method: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isgeneratorfunction(method):
        raise TypeError(f"{method.__name__}: return an iterator from a plain method")

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            result = method(*args, **kwargs)
        except DRIVER_ERRORS as exc:
            raise translate(exc) from exc
        return _iterating(result) if isinstance(result, Iterator) else result

    return call


def _iterating(items: Iterator[T]) -> Iterator[T]:
    """``items``, with the driver's errors while reading them translated (a cursor reads lazily)."""
    try:
        yield from items
    except DRIVER_ERRORS as exc:
        raise translate(exc) from exc


def translated(cls: type[T]) -> type[T]:
    """``cls`` with every public method raising the store layer's errors instead of the
    driver's, also while the iterators it returns are read."""
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.isfunction(method):
            setattr(cls, name, _translating(method))
    return cls
