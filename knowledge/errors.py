"""Exceptions of the knowledge package; each message names the fix."""

from __future__ import annotations


class KnowledgeError(RuntimeError):
    """Base class for knowledge-base errors."""


class ValidationFailed(KnowledgeError):
    """One or more entry files are invalid; `problems` lists file, line, field, message."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the knowledge-base files:\n{lines}")


class Problem:
    """One validation problem, printed as `file:line: field: message`."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        self.file, self.line, self.field, self.message = file, line, field, message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class NoPublishedVersion(KnowledgeError):
    """The database has no published knowledge-base version."""


class VersionNotFound(KnowledgeError):
    """A version number that does not exist."""


class IndexNotBuiltError(KnowledgeError):
    """No search index exists for the data folder."""


class EmptyKnowledgeBase(KnowledgeError):
    """The published knowledge base has no entries."""


class ModelLoadError(KnowledgeError):
    """The embedding model cannot be loaded."""
