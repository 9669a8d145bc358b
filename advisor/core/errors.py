"""One error type for bad input, shared by the app's parsers and the pipeline: it names the file, the
row, the field and the fix."""

from __future__ import annotations


class InputError(ValueError):
    def __init__(self, file, problem: str, fix: str, row: int | None = None, field: str | None = None):
        self.file, self.problem, self.fix, self.row, self.field = str(file), problem, fix, row, field
        where = self.file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}. Fix: {fix}")
