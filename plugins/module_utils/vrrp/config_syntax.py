# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived configuration syntax: lexer, `include`, and the generic block tree.

Follows keepalived 2.2.7's lib/parser.c: the file is read with fgets(), so a line ends only at
"\\n" (trailing "\\r" are stripped; form feeds, U+2028, U+0085 and the like are *not* line breaks); a
statement is one line (keyword plus its arguments); `#` and `!` outside quotes start a comment (`\\#`,
`\\!` escape them); `{` and `}` outside quotes are tokens even when glued to a word; `"..."` is one
token; `include PATTERN` (a line of its own) splices the globbed files in, relative to the including
file's directory. Meaning is given to the tree by config.py.

Safety limits (keepalived has none; these make a hostile or mistaken config an error, never a hang
or a MemoryError):
- only regular, non-executable files are read (opened O_NONBLOCK and checked with fstat, so a FIFO
  or /dev/zero is refused at once; keepalived also skips executable and non-regular files);
- a file is at most MAX_FILE_BYTES (16 MiB); one load reads at most MAX_FILES files and
  MAX_TOTAL_BYTES bytes; each file is read at most once per load (a second include of it is an
  error, which also stops include loops); includes nest at most MAX_INCLUDE_DEPTH deep;
- `{ }` blocks nest at most MAX_BLOCK_DEPTH deep.

Messages never echo the text of an *included* file (it may be any file, e.g. `include /etc/shadow`),
nor any token written after `auth_pass`: Source.show() renders such a value as "(not shown)" and any
other value with inet.safe_repr().
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import glob
import itertools
import os
import re
import stat
from dataclasses import dataclass, field
from typing import List, Optional

from .. import inet
from .config_model import Message

MAX_INCLUDE_DEPTH = 8
MAX_BLOCK_DEPTH = 16
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_FILES = 1024
GLOB_CHARS = "*?["
HIDDEN = "(not shown)"
# C0 controls but the tab, DEL, C1 controls (U+0085...), U+2028/U+2029 and lone surrogates: what config.py's
# renderer never writes raw either (it escapes controls inside quotes and refuses the others).
UNSAFE_IN_WORD = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
SIMPLE_WORD = re.compile(r"\A[A-Za-z0-9_.:/@+-]{1,4096}\Z")
# Keywords whose values are secrets: the rest of their line is never echoed.
SECRET_KEYWORDS = ("auth_pass",)


@dataclass
class Token:
    value: str
    file: str
    line: int
    quoted: bool = False
    secret: bool = False

    @property
    def is_open(self):
        return not self.quoted and self.value == "{"

    @property
    def is_close(self):
        return not self.quoted and self.value == "}"


@dataclass
class Node:
    """`keyword args... [{ children }]` with where it was written."""

    keyword: str
    args: List[Token]
    file: str
    line: int
    children: Optional[List["Node"]] = None
    quoted: bool = False
    secret: bool = False

    @property
    def values(self):
        return [t.value for t in self.args]


@dataclass
class Source:
    """Collects messages and the files read while lexing (shared with config.py).

    `main` is the file given to load()/parse_text(): only its values may be quoted in messages.
    """

    messages: List[Message] = field(default_factory=list)
    files: List[str] = field(default_factory=list)
    main: Optional[str] = None
    seen: set = field(default_factory=set)
    total_bytes: int = 0

    def error(self, file, line, reason):
        self.messages.append(Message(file, line, reason, "error"))

    def warning(self, file, line, reason):
        self.messages.append(Message(file, line, reason, "warning"))

    def fixup(self, file, line, reason):
        """A warning keepalived reports with report_config_error() (so `keepalived -t` and `vipd check`
        fail on it) and then fixes up at run time, as `vipd run` does."""
        self.messages.append(Message(file, line, reason, "warning", check_fails=True))

    def show(self, where, value, plain=False):
        """`value` for a message about `where` (a Token, a Node, or a file name): "(not shown)" when
        `where` is in an included file or holds a secret; otherwise inet.safe_repr(value), or with
        `plain` the bare value when it is a simple word (names, numbers, addresses)."""
        file = getattr(where, "file", where)
        if file != self.main or getattr(where, "secret", False) or any(getattr(t, "secret", False) for t in getattr(where, "args", ())):
            return HIDDEN
        value = str(value)
        if plain and SIMPLE_WORD.match(value):
            return value
        return inet.safe_repr(value, 4096 if plain else 64)


def split_line(text, file, lineno, src):
    """Tokens of one physical line (comments removed), as keepalived splits them.

    Every token after an unquoted `auth_pass` on the line is marked secret (never echoed).
    """
    tokens = []
    i = 0
    n = len(text)
    word = []

    def flush():
        if word:
            tokens.append(Token("".join(word), file, lineno))
            del word[:]

    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "#!":
            word.append(text[i + 1])
            i += 2
            continue
        if ch in "#!":
            break
        if ch in " \t\r\f\v":
            flush()
        elif ch in "{}":
            flush()
            tokens.append(Token(ch, file, lineno))
        elif ch == '"':
            flush()
            end = _closing_quote(text, i + 1)
            if end < 0:
                # keepalived reports it and keeps the rest of the line; so do we (one error, not two).
                src.error(file, lineno, "unterminated quoted string")
                end = n
            tokens.append(Token(text[i + 1:end], file, lineno, quoted=True))
            i = end
        else:
            word.append(ch)
        i += 1
    flush()
    # keepalived keeps any byte in a word; vipd refuses control characters and line separators (U+0085,
    # U+2028...) in words, so no name or value in the model can hold one (a tab is allowed inside quotes).
    if any(UNSAFE_IN_WORD.search(tok.value) for tok in tokens):
        src.error(file, lineno, "control character or line separator in a word (not allowed; use printable characters)")
    secret = False
    for tok in tokens:
        tok.secret = secret
        if not tok.quoted and tok.value in SECRET_KEYWORDS:
            secret = True
    return tokens


def _closing_quote(text, start):
    """Index of the '"' closing a quote opened before `start`; a backslash escapes the next character
    (keepalived's decomment() does not end a quote at '\\"'); -1 when unterminated."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i
        i += 1
    return -1


def physical_lines(text):
    """The lines of `text` as keepalived's fgets() loop sees them: split on "\\n" only, trailing "\\r"
    removed. (str.splitlines() would also split on \\r, \\v, \\f, \\x1c-\\x1e, \\x85, U+2028 and U+2029.)"""
    return [line.rstrip("\r") for line in text.split("\n")]


def lex_text(text, filename, src, depth=0, stack=()):
    """Token list of `text` (file name `filename`), following includes."""
    if src.main is None:
        src.main = filename
    if filename not in src.files:
        src.files.append(filename)
    tokens = []
    for lineno, raw in enumerate(physical_lines(text), 1):
        nul = raw.find("\x00")
        if nul >= 0:
            # keepalived's strlen() stops there: the rest of the line would be silently lost.
            src.error(filename, lineno, "NUL character in the line (keepalived ignores the rest of the line)")
            raw = raw[:nul]
        line_tokens = split_line(raw, filename, lineno, src)
        if line_tokens and line_tokens[0].value == "include" and not line_tokens[0].quoted:
            _include(line_tokens, filename, src, depth, stack, tokens)
            continue
        tokens.extend(line_tokens)
    return tokens


class AlreadyRead(ValueError):
    """The file was already read in this load."""


def read_config_file(path, src):
    """Bytes of a config file, or raise ValueError(reason): only a regular, non-executable file, read
    without blocking, within the per-file and per-load limits, and not one already read in this load."""
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise ValueError("cannot read it: %s" % _strerror(exc))
    _check_stat(st)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except (OSError, ValueError) as exc:
        raise ValueError("cannot read it: %s" % _strerror(exc))
    try:
        st = os.fstat(fd)  # what was opened, not what the name pointed to a moment ago
        _check_stat(st)
        key = (st.st_dev, st.st_ino)
        if key in src.seen:
            raise AlreadyRead("it is already included in this configuration (a file is read at most once: include loop?)")
        if len(src.seen) >= MAX_FILES:
            raise ValueError("too many files: a configuration reads at most %d files" % MAX_FILES)
        src.seen.add(key)
        limit = min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - src.total_bytes)
        chunks = []
        size = 0
        while True:
            try:
                chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            except BlockingIOError:
                raise ValueError("reading it would block")
            except OSError as exc:
                raise ValueError("cannot read it: %s" % _strerror(exc))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                if limit < MAX_FILE_BYTES:
                    raise ValueError("the configuration is too large: at most %d MiB in all files" % (MAX_TOTAL_BYTES >> 20))
                raise ValueError("it is larger than %d MiB" % (MAX_FILE_BYTES >> 20))
        src.total_bytes += size
        return b"".join(chunks)
    finally:
        os.close(fd)


def _check_stat(st):
    if stat.S_ISDIR(st.st_mode):
        raise ValueError("it is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError("it is not a regular file (keepalived skips it)")
    if st.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        raise ValueError("it is executable (keepalived skips such a file)")
    if st.st_size > MAX_FILE_BYTES:
        raise ValueError("it is larger than %d MiB" % (MAX_FILE_BYTES >> 20))


def _strerror(exc):
    return getattr(exc, "strerror", None) or exc.__class__.__name__


def lex_file(path, src, depth=0, stack=(), origin=None, repeats=None):
    """Tokens of the file `path`; `origin` is the include line's first argument Token (None for the main file).

    With `repeats` (a list), a file already read is only counted there (one message per include line)."""
    if src.main is None:
        src.main = path
    try:
        data = read_config_file(path, src)
    except AlreadyRead:
        if repeats is not None:
            repeats.append(path)
            return []
        src.error(origin.file if origin else path, origin.line if origin else 0,
                  "include of %s refused: it is already included in this configuration (a file is read at most once: include loop?)"
                  % (src.show(origin, path, True) if origin else inet.safe_repr(path, 4096)))
        return []
    except ValueError as exc:
        if origin is None:
            src.error(path, 0, "cannot use %s: %s" % (inet.safe_repr(path, 4096), exc))
        else:
            src.error(origin.file, origin.line, "include of %s refused: %s" % (src.show(origin, path, True), exc))
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return lex_text(text, path, src, depth, stack)


def _include(line_tokens, filename, src, depth, stack, out):
    lineno = line_tokens[0].line
    if len(line_tokens) < 2:
        src.error(filename, lineno, "include needs a file name or pattern")
        return
    where = line_tokens[1]
    # keepalived takes the rest of the line as the pattern.
    pattern = " ".join(t.value for t in line_tokens[1:])
    shown = src.show(where, pattern)
    if depth >= MAX_INCLUDE_DEPTH:
        src.error(filename, lineno, "include of %s refused: includes nest more than %d deep" % (shown, MAX_INCLUDE_DEPTH))
        return
    base = os.path.dirname(filename) if filename and not filename.startswith("<") else os.getcwd()
    full = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
    has_glob = any(c in pattern for c in GLOB_CHARS)
    try:
        matches = sorted(itertools.islice(glob.iglob(full), MAX_FILES + 1)) if has_glob else [full]
    except (OSError, ValueError, RecursionError) as exc:
        src.error(filename, lineno, "include pattern %s cannot be expanded: %s" % (shown, _strerror(exc)))
        return
    if len(matches) > MAX_FILES:
        src.error(filename, lineno, "include pattern %s matches more than %d files" % (shown, MAX_FILES))
        return
    if not has_glob and not _exists(full):
        src.error(filename, lineno, "include file %s not found" % shown)
        return
    if not matches:
        src.warning(filename, lineno, "include pattern %s matches no file" % shown)
        return
    repeats = [] if has_glob else None
    for path in matches:
        if has_glob and _isdir(path):
            continue  # keepalived skips directories a pattern matches
        out.extend(lex_file(os.path.normpath(path), src, depth + 1, stack, origin=where, repeats=repeats))
    if repeats:
        src.error(filename, lineno, "include pattern %s: %d matching file(s) already included in this configuration "
                  "(a file is read at most once: include loop?)" % (shown, len(repeats)))


def _exists(path):
    try:
        return os.path.lexists(path)
    except ValueError:
        return False


def _isdir(path):
    try:
        return os.path.isdir(path)
    except ValueError:
        return False


def build_tree(tokens, src):
    """Group tokens into statements and blocks; reports brace errors.

    Blocks nest at most MAX_BLOCK_DEPTH deep: a deeper block is reported and skipped whole.
    """
    root = []
    stack = []  # (node, list being filled)
    current = root
    last = None  # the last statement at this level (a '{' on the next line attaches to it)
    i = 0
    n = len(tokens)
    while i < n:
        tok = tokens[i]
        if tok.is_close:
            if not stack:
                src.error(tok.file, tok.line, "unexpected '}' (no block is open)")
            else:
                opened, current = stack.pop()
                last = opened
            i += 1
            continue
        if tok.is_open:
            if last is None or last.children is not None:
                src.error(tok.file, tok.line, "unexpected '{' (no keyword before it)")
                # Still nest so the matching '}' does not close the wrong block.
                last = Node("{", [], tok.file, tok.line)
            last.children = []
            if len(stack) >= MAX_BLOCK_DEPTH:
                src.error(tok.file, tok.line, "blocks nest more than %d deep; this block is ignored" % MAX_BLOCK_DEPTH)
                i = _skip_block(tokens, i + 1)
                continue
            stack.append((last, current))
            current = last.children
            last = None
            i += 1
            continue
        # A statement: this token and the rest of its physical line up to a brace.
        args = []
        j = i + 1
        while j < n and tokens[j].file == tok.file and tokens[j].line == tok.line \
                and not tokens[j].is_open and not tokens[j].is_close:
            args.append(tokens[j])
            j += 1
        node = Node(tok.value, args, tok.file, tok.line, quoted=tok.quoted, secret=tok.secret)
        current.append(node)
        last = node
        i = j
    for opened, _parent in reversed(stack):
        src.error(opened.file, opened.line, "block %s is not closed (missing '}')" % src.show(opened, opened.keyword))
    return root


def _skip_block(tokens, i):
    """Index just after the '}' closing the block whose '{' is at i - 1 (or the end)."""
    depth = 1
    while i < len(tokens):
        if tokens[i].is_open:
            depth += 1
        elif tokens[i].is_close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i
