"""Query errors carry the position of the problem."""

from __future__ import annotations

from tracelake.errors import InvalidRequest


class QueryError(InvalidRequest):
    """A syntax or semantic error in a query, at ``line``:``col`` (1-based) when known."""

    def __init__(
        self, message: str, line: int | None = None, col: int | None = None, text: str | None = None
    ):
        where = f" at {line}:{col}" if line is not None and col is not None else ""
        super().__init__(f"{message}{where}")
        self.detail = message
        self.line = line
        self.col = col
        self.text = text

    def to_json(self) -> dict:
        body = super().to_json()
        if self.line is not None:
            body["error"]["line"] = self.line
            body["error"]["col"] = self.col
        return body
