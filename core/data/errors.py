"""Errors for motion corpora: labels, archives and folders of clips."""

from __future__ import annotations

from ..errors import GenAnimError


class DataError(GenAnimError):
    """A problem with a corpus source (archive, folder, label file)."""


class LabelError(DataError):
    """An unknown or unreadable action/style label."""


class ArchiveError(DataError):
    """An archive that cannot be read or extracted."""


class CorpusError(DataError):
    """A folder of clips that cannot form one corpus (e.g. mixed skeletons)."""
