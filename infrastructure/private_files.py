"""Directories and files that only this process's user may read: 0700 and 0600.

The stores hold every order, message and evidence note, and ``var/`` holds the
development signing key: none of it is for the machine's other users. These
functions create what is missing with private permissions and leave what
already exists as it is (a directory the operator chose, such as ``/srv``, is
theirs to set). SQLite gives a database's ``-wal`` and ``-shm`` side files the
permissions of the database file, so a private database keeps them private.

The command line also sets the process umask to 0o077 (``interface.cli.main``),
so that files made by code that does not call these (a library's) are private
too.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PRIVATE_DIRECTORY_MODE",
    "PRIVATE_FILE_MODE",
    "PRIVATE_UMASK",
    "is_file_database",
    "private_directory",
    "private_file",
    "private_sqlite_file",
]

PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
PRIVATE_UMASK = 0o077


def private_directory(path: Path) -> Path:
    """Create ``path`` and any missing parents, each 0700; an existing one is left alone.

    Raises OSError (FileExistsError, NotADirectoryError, PermissionError...) when
    it cannot be made, e.g. when a parent is a regular file.
    """
    missing: list[Path] = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIRECTORY_MODE)
        except FileExistsError:
            if not directory.is_dir():
                raise
            continue  # made meanwhile by another process: theirs, as it is
        os.chmod(directory, PRIVATE_DIRECTORY_MODE)  # whatever the umask took away or left
    return path


def private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 (its directory 0700) unless it exists.

    Returns whether it was created here. Raises OSError when it cannot be.
    """
    private_directory(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return True


def is_file_database(name: str) -> bool:
    """Whether an SQLite database name is a file on disk (not ``:memory:`` or a URI)."""
    return bool(name) and ":memory:" not in name and not name.startswith("file:")


def private_sqlite_file(path: str | Path) -> None:
    """Make sure the SQLite database file ``path`` exists, created private if it is new.

    An empty file is a valid, empty SQLite database. Its ``-wal`` and ``-shm``
    files, made later by SQLite, take the database file's permissions. A name
    that is not a file on disk (``:memory:``) is left alone.
    """
    if isinstance(path, str):
        if not is_file_database(path):
            return
        path = Path(path)
    private_file(path)
