"""One error type for bad input: it names the file, the row, the field and the fix (its home is
``advisor.errors``, which the app's parsers share)."""

from advisor.errors import InputError

__all__ = ["InputError"]
