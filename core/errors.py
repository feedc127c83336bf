"""Errors that GenAnim reports to users in plain words.

Every problem caused by input (a file, a label, a rig) raises a subclass of
`GenAnimError`; the command line prints its message without a traceback.
"""

from __future__ import annotations

from pathlib import Path


class GenAnimError(Exception):
    """Base class of all errors caused by user input."""


class MotionDataError(GenAnimError):
    """Bad motion data: names the file, the line where it applies, and the problem.

    Raised for malformed BVH files (truncated, wrong channel count, non-numeric,
    NaN or infinite values), unreadable files and unknown joints in mappings.
    """

    def __init__(self, problem: str, path: str | Path | None = None, line: int | None = None):
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        where = self.path or "<motion data>"
        if line is not None:
            where += f", line {line}"
        super().__init__(f"{where}: {problem}")


class RigError(GenAnimError):
    """A rig (armature) that cannot take the motion: wrong object type, missing or misplaced bones."""
