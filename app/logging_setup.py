"""Logging with one safety net: anything shaped like an ID number is masked before it is written."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from app.rules.identity import mask_id_numbers_in_text


def _masked(value: Any) -> Any:
    """A log argument with ID-shaped text masked; other values untouched (a formatter may need
    their type: uvicorn's access formatter reads the status code as an int)."""
    if isinstance(value, str):
        return mask_id_numbers_in_text(value)
    if isinstance(value, bytes):
        return mask_id_numbers_in_text(value.decode("utf-8", "replace"))
    return value


class MaskIdNumbers(logging.Filter):
    """Masks the message and each argument in place, keeping the arguments' shape: formatters
    that read ``record.args`` themselves (uvicorn's access log) keep working, and the message is
    never pre-formatted, so a record that fails to format is not printed raw by
    ``Handler.handleError``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_id_numbers_in_text(record.msg)
        if isinstance(record.args, Mapping):
            record.args = {key: _masked(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_masked(value) for value in record.args)
        if record.exc_info and not record.exc_text:
            # The traceback's text is formatted once and cached on the record: mask that text.
            record.exc_text = mask_id_numbers_in_text(logging.Formatter().formatException(record.exc_info))
        return True


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(f, MaskIdNumbers) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("", "uvicorn", "uvicorn.access", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, MaskIdNumbers) for f in handler.filters):
                handler.addFilter(MaskIdNumbers())
