# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, check and atomically replace small text files (temp file in the same directory + fsync + rename).

No ansible imports: the vipd engine may use this too.

Which files are read and written (resolve()):
- a regular file, or a missing one (created), is used as it is;
- anything else that is not a symbolic link (directory, FIFO, socket, device) is refused: it is never
  opened, so a FIFO cannot hang a run and a device cannot leak into a diff;
- a symbolic link is followed only when its fully resolved target has the same file name as the link
  and lies below the link's own directory, as RHEL's `/etc/rc.local -> rc.d/rc.local`; the target
  must then be a regular file (or missing, in an existing directory). Reads and writes go to that
  target (the link stays a link, so what the boot reads is what we wrote). Any other link (one planted
  to show or overwrite `/etc/shadow`, say) is refused with an error naming it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import time
from typing import Optional

from ..inet import safe_repr


class PersistError(Exception):
    """A persistence file cannot be read, parsed or written; the message names the file."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _name(path) -> str:
    return safe_repr(path, 200)[1:-1] if isinstance(path, str) else safe_repr(path)


def _why(exc) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def resolve(path: str) -> str:
    """The path to read and write for `path` under the rule in the module docstring, or PersistError."""
    if not isinstance(path, str) or not path or "\0" in path:
        raise PersistError("invalid file path %s" % safe_repr(path))
    try:
        st = os.lstat(path)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return path
        raise PersistError("cannot read %s: %s" % (_name(path), _why(exc)))
    if stat.S_ISLNK(st.st_mode):
        real = os.path.realpath(path)
        home = os.path.realpath(os.path.dirname(os.path.abspath(path)))
        if os.path.basename(real) != os.path.basename(path) or not real.startswith(home.rstrip(os.sep) + os.sep):
            raise PersistError("cannot read or write %s: it is a symbolic link to %s, and only a link to a file of the"
                               " same name below the link's own directory (as /etc/rc.local -> rc.d/rc.local) is"
                               " followed" % (_name(path), _name(real)))
        try:
            st = os.lstat(real)
        except OSError as exc:
            if exc.errno == errno.ENOENT and os.path.isdir(os.path.dirname(real)):
                return real
            raise PersistError("cannot read %s (link to %s): %s" % (_name(path), _name(real), _why(exc)))
        path = real
    if not stat.S_ISREG(st.st_mode):
        raise PersistError("cannot read or write %s: it is %s, not a regular file" % (_name(path), _kind(st.st_mode)))
    return path


def read_text(path: str) -> Optional[str]:
    """The file's text, or None when it does not exist. Non-regular files and links are handled by resolve()."""
    real = resolve(path)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(real, flags)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise PersistError("cannot read %s: %s" % (_name(path), _why(exc)))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped since resolve(): still never read
            raise PersistError("cannot read %s: it is %s, not a regular file" % (_name(path), _kind(st.st_mode)))
        with os.fdopen(fd, "rb") as handle:
            fd = None
            data = handle.read()
    except OSError as exc:
        raise PersistError("cannot read %s: %s" % (_name(path), _why(exc)))
    finally:
        if fd is not None:
            os.close(fd)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PersistError("cannot read %s: not UTF-8 text (%s)" % (_name(path), exc))
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as text mode's universal newlines did


def check_writable(path: str, create_dir: bool = False) -> None:
    """Raise PersistError unless path could be written (or created) now; writes nothing.

    create_dir allows the file's own directory to be missing as long as its parent exists
    (systemd drop-in directories are created on demand).
    """
    path = resolve(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        parent = os.path.dirname(directory)
        if create_dir and os.path.isdir(parent):
            directory = parent
        else:
            raise PersistError("cannot write %s: directory %s does not exist" % (_name(path), _name(directory)))
    if not os.access(directory, os.W_OK | os.X_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise PersistError("cannot write %s: permission denied" % _name(path))
    # os.access() is not told about read-only mounts; statvfs is.
    if os.statvfs(directory).f_flag & getattr(os, "ST_RDONLY", 1):
        raise PersistError("cannot write %s: read-only file system" % _name(path))


def backup_file(path: str) -> Optional[str]:
    """Copy path (a link's target, see resolve()) to path.YYYY-MM-DD@HH:MM:SS~ (Ansible's backup naming),
    keeping mode/owner."""
    real = resolve(path)
    if not os.path.exists(real):
        return None
    dest = "%s.%s~" % (path, time.strftime("%Y-%m-%d@%H:%M:%S"))
    n = 0
    while os.path.lexists(dest):
        n += 1
        dest = "%s.%s.%d~" % (path, time.strftime("%Y-%m-%d@%H:%M:%S"), n)
    import shutil  # backups only: shutil costs vipd 0.6 MB of RSS
    shutil.copy2(real, dest)
    try:
        st = os.stat(real)
        os.chown(dest, st.st_uid, st.st_gid)
    except OSError:
        pass
    return dest


def write_text(path: str, text: str, mode: int = 0o644, backup: bool = False, create_dir: bool = False) -> Optional[str]:
    """Atomically replace path with text (a link's target, see resolve()). Returns the backup path when
    one was made.

    A new file gets `mode`. An existing file keeps its owner and its mode, minus any group/other
    permission that `mode` does not grant: a caller asking for 0600 (a file holding a secret) never
    has the new content readable under an older, wider mode. The mode is set on the temporary file
    (created 0600 by mkstemp) before the rename, so there is no moment when the content is exposed.
    """
    real = resolve(path)
    directory = os.path.dirname(os.path.abspath(real))
    if create_dir and not os.path.isdir(directory):
        os.mkdir(directory, 0o755)
    made = backup_file(path) if backup else None
    try:
        st = os.stat(real)
    except OSError:
        st = None
    import tempfile  # here, not at load: tempfile (random, hashlib's sha512) is 0.4 MB of vipd's RSS (issue 11)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(real), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if st is not None:
            os.chmod(tmp, (st.st_mode & 0o7777) & (mode | 0o700))
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except OSError:
                pass  # not root: the file stays ours, as any editor would leave it
        else:
            os.chmod(tmp, mode)
        os.rename(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)
    return made


def remove_file(path: str, backup: bool = False) -> Optional[str]:
    """Delete path (no error when already gone); returns the backup path when one was made.
    A link is removed itself, its target stays."""
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
