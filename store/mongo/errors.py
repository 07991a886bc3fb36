"""pymongo's errors as the store layer's: the one place that tells an outage from a refusal."""

from __future__ import annotations

from bson.errors import BSONError
from pymongo.errors import (
    BulkWriteError,
    ConnectionFailure,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WriteConcernError,
)

from store.errors import StoreError, StoreUnavailable, translated_by


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


translated = translated_by(translate, (PyMongoError, BSONError, OSError))
"""Makes a MongoDB repository raise the store layer's errors (:func:`store.errors.translated_by`)."""
