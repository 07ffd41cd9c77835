# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, check and atomically replace small text files (temp file in the same directory + fsync + rename).

No ansible imports: the vipd engine may use this too.
"""

from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import errno
import os
import shutil
import tempfile
import time
from typing import Optional


class PersistError(Exception):
    """A persistence file cannot be read, parsed or written; the message names the file."""


def read_text(path: str) -> Optional[str]:
    """The file's text, or None when it does not exist."""
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise PersistError("cannot read %s: %s" % (path, exc.strerror or exc))
    except UnicodeDecodeError as exc:
        raise PersistError("cannot read %s: not UTF-8 text (%s)" % (path, exc))


def check_writable(path: str, create_dir: bool = False) -> None:
    """Raise PersistError unless path could be written (or created) now; writes nothing.

    create_dir allows the file's own directory to be missing as long as its parent exists
    (systemd drop-in directories are created on demand).
    """
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise PersistError("cannot write %s: it is a directory" % path)
    if not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if create_dir and os.path.isdir(parent):
            directory = parent
        else:
            raise PersistError("cannot write %s: directory %s does not exist" % (path, directory))
    if not os.access(directory, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise PersistError("cannot write %s: permission denied" % path)
    # os.access() is not told about read-only mounts; statvfs is.
    if os.statvfs(directory).f_flag & getattr(os, "ST_RDONLY", 1):
        raise PersistError("cannot write %s: read-only file system" % path)


def backup_file(path: str) -> Optional[str]:
    """Copy path to path.YYYY-MM-DD@HH:MM:SS~ (Ansible's backup naming), keeping mode/owner."""
    if not os.path.exists(path):
        return None
    dest = "%s.%s~" % (path, time.strftime("%Y-%m-%d@%H:%M:%S"))
    n = 0
    while os.path.exists(dest):
        n += 1
        dest = "%s.%s.%d~" % (path, time.strftime("%Y-%m-%d@%H:%M:%S"), n)
    shutil.copy2(path, dest)
    try:
        st = os.stat(path)
        os.chown(dest, st.st_uid, st.st_gid)
    except OSError:
        pass
    return dest


def write_text(path: str, text: str, mode: int = 0o644, backup: bool = False, create_dir: bool = False) -> Optional[str]:
    """Atomically replace path with text. An existing file keeps its mode and owner; a new one
    gets `mode`. Returns the backup path when one was made."""
    directory = os.path.dirname(os.path.abspath(path))
    if create_dir and not os.path.isdir(directory):
        os.mkdir(directory, 0o755)
    made = backup_file(path) if backup else None
    try:
        st = os.stat(path)
    except OSError:
        st = None
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if st is not None:
            os.chmod(tmp, st.st_mode & 0o7777)
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass  # not root: the file stays ours, as any editor would leave it
        else:
            os.chmod(tmp, mode)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
    return made


def remove_file(path: str, backup: bool = False) -> Optional[str]:
    """Delete path (no error when already gone); returns the backup path when one was made."""
    made = backup_file(path) if backup else None
    try:
        os.unlink(path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
    _fsync_dir(os.path.dirname(os.path.abspath(path)))
    return made


def _fsync_dir(directory):
    # The rename is durable only once the directory entry is on disk.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
