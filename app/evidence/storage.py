"""Where evidence files live: a small interface, and the local filesystem by default.

Files are addressed by the SHA-256 of their content, so identical uploads are stored once and a
stored file never changes. A file written but never referenced (the request's transaction rolled
back afterwards) is harmless: it is content-addressed and reused by the next identical upload.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

from app.config import get_settings

_KEY = re.compile(r"[0-9a-f]{64}")


class EvidenceStorage(Protocol):
    def put(self, data: bytes) -> str:
        """Store ``data``; return its key (the hex SHA-256 of the content)."""
        ...

    def open(self, key: str) -> BinaryIO:
        """The stored content for reading; FileNotFoundError for an unknown key."""
        ...


def content_key(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LocalFileStorage:
    """``root/aa/bb/<sha256>``; written to a temporary file in the same directory, flushed to
    disk and renamed into place (``os.replace``), so a reader never sees half a file."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_of(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = content_key(data)
        path = self.path_of(key)
        if path.is_file() and path.stat().st_size == len(data):
            return key  # already stored: identical content, identical name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o640)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> BinaryIO:
        return self.path_of(key).open("rb")


class StorageNotWritable(RuntimeError):
    """The evidence directory cannot be written: the service refuses to start."""


def ensure_writable(root: str | os.PathLike[str]) -> Path:
    """Create ``root`` if needed and prove that a file can be written there (and removed);
    StorageNotWritable otherwise. Run at start-up (and by readiness checks)."""
    path = Path(root)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        raise StorageNotWritable(f"evidence storage {path} is not writable: {exc.strerror or exc}") from exc
    return path


def get_storage() -> EvidenceStorage:
    """The configured storage (``VOUCHER_EVIDENCE__STORAGE_DIR``), read per call so that a
    changed setting takes effect without a restart of the test process."""
    return LocalFileStorage(get_settings().evidence.storage_dir)
