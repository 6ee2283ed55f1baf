"""Query errors carry the position of the problem."""

from __future__ import annotations

from tracelake.errors import InvalidRequest, NotFound


class QueryError(InvalidRequest):
    """A syntax or semantic error in a query, at ``line``:``col`` (1-based) when known.

    ``snippet`` names the ``{"btql": "…"}`` snippet of a JSON AST query the position is in
    (``filter.btql``); the message then starts with it, as a snippet's parse errors do."""

    def __init__(
        self,
        message: str,
        line: int | None = None,
        col: int | None = None,
        text: str | None = None,
        *,
        snippet: str | None = None,
    ):
        if snippet is not None:
            message = f"{snippet}: {message}"
        where = f" at {line}:{col}" if line is not None and col is not None else ""
        super().__init__(f"{message}{where}")
        self.detail = message
        self.line = line
        self.col = col
        self.text = text

    @classmethod
    def at(cls, message: str, where: object = None) -> QueryError:
        """An error at a node's position or at a ``Loc`` (none when it has none)."""
        loc = where if hasattr(where, "line") else getattr(where, "loc", None)
        if loc is None:
            return cls(message)
        return cls(message, loc.line, loc.col, snippet=getattr(loc, "snippet", None))

    def to_json(self) -> dict:
        body = super().to_json()
        if self.line is not None:
            body["error"]["line"] = self.line
            body["error"]["col"] = self.col
        return body


class SourceNotFound(NotFound):
    """An object a query's ``from:`` names that the caller's organization does not have: a
    404 like any missing object, at the position of its argument (``line``:``col``)."""

    def __init__(self, message: str, where: object = None):
        error = QueryError.at(message, where)
        super().__init__(str(error))
        self.detail = message  # without the position
        self.line, self.col = error.line, error.col

    def to_json(self) -> dict:
        body = super().to_json()
        body["error"]["type"] = "NotFound"
        if self.line is not None:
            body["error"]["line"] = self.line
            body["error"]["col"] = self.col
        return body
