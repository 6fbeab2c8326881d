"""Errors that mean "the user's input is wrong or missing", not "deq has a bug".

Every expected failure (a missing or corrupted weights or data file, a file of the wrong layout, a shape or
option that does not fit) raises a subclass of :class:`DeqError` whose message names what was expected and
how to fix it. The ``deq`` command line prints such an error as one line and exits with status 2; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class DeqError(Exception):
    """Base of deq's expected, user-facing failures; the message alone tells the user what to do."""


class WeightsError(DeqError, RuntimeError):
    """A weight or checkpoint file is missing, unreadable or of the wrong layout; the message names the file
    and the remedy."""


class DataNotFoundError(DeqError, FileNotFoundError):
    """A benchmark or input data file is not on disk; the message says where it was looked for."""


class DataError(DeqError, ValueError):
    """A data file exists but holds the wrong keys, shapes or values; the message names file, key and shapes."""
