"""Errors a person fixes by editing a mapping file, so each one names the file and place."""

from __future__ import annotations


class MappingError(ValueError):
    """One or more problems in a mapping file; `problems` lists each as `file:line: text`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
