"""Exceptions of the teams package; each message names the fix."""

from __future__ import annotations


class TeamsError(RuntimeError):
    """Base class for team-directory errors."""


class Problem:
    """One problem in a directory file, printed as `file:line: field: message`."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        self.file, self.line, self.field, self.message = file, line, field, message

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field or '(file)'}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class LocatedError(ValueError):
    """A validation error about one part of the value (a day of the hours, a member), so the
    problem points at that part's line rather than the field's."""

    def __init__(self, message: str, where: str | int):
        super().__init__(message)
        self.where = where


class DirectoryInvalid(TeamsError):
    """A directory file has problems; `problems` lists file, line, field and message.
    Nothing is imported."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the team directory:\n{lines}")


class NoWorkingHours(TeamsError):
    """A team never opens (no working hours outside its holidays)."""
