"""Error types shared by every layer. The server maps each to one HTTP status in one place."""

from __future__ import annotations


class TracelakeError(Exception):
    """Base class: a problem with the request that the caller can fix."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict:
        return {"error": {"type": type(self).__name__, "message": self.message}}


class InvalidRequest(TracelakeError):
    """The request is malformed: bad JSON, a bad field, a row that cannot be routed."""

    status = 400


class InvalidSetting(TracelakeError):
    """A setting (an environment variable or option) has a value that cannot be used."""


class Unauthorized(TracelakeError):
    status = 401


class Forbidden(TracelakeError):
    """The key is valid but its role does not allow this action."""

    status = 403


class NotFound(TracelakeError):
    """The object does not exist, or belongs to another organization (never say which)."""

    status = 404


class RequestTimeout(TracelakeError):
    """The client stopped sending its request body before it ended."""

    status = 408


class Conflict(TracelakeError):
    status = 409


class PayloadTooLarge(TracelakeError):
    status = 413


class UnsupportedMediaType(TracelakeError):
    """A body in a content type or encoding the endpoint does not take."""

    status = 415


class StorageFull(TracelakeError):
    """The data dir cannot take the write: its disk is full, or its file system turned
    read-only. Nothing of the request was written; it may be sent again once there is room."""

    status = 507


class QueryTimeout(TracelakeError):
    """A query ran longer than the configured timeout and was stopped."""

    status = 504
