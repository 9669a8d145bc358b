"""One error type for bad input: it names the file, the row, the field and the fix (its home is
``advisor.core.errors``, which the app's parsers share)."""

from advisor.core.errors import InputError

__all__ = ["InputError"]
