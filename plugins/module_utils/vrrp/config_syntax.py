# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived configuration syntax: lexer, `include`, and the generic block tree.

Follows keepalived 2.2.7's lib/parser.c: the file is read with fgets(), so a line ends only at
"\\n" (trailing "\\r" are stripped; form feeds, U+2028, U+0085 and the like are *not* line breaks); a
statement is one line (keyword plus its arguments); `#` and `!` outside quotes start a comment (`\\#`,
`\\!` escape them); `{` and `}` outside quotes are tokens even when glued to a word; `"..."` is one
token; `include PATTERN` (a line of its own) splices the globbed files in, relative to the including
file's directory, with keepalived's variants includer/includem/includew/includeb/includea and
GLOB_BRACE `{a,b}`. keepalived's read_line() preprocessing is done per line (logical_lines()):
`$NAME=VALUE` definitions (a value ending in `\\` goes on over the next lines), `$NAME` / `${NAME}`
expansion, `@ID` / `@^ID` lines kept only for / not for the system id (keepalived -i, default the host
name up to its first '.'), `~SEQ[x](VAR, [START, [STEP,]] END) TEXT`. Expansion never splits a line
except at the "\\n" of a multiline definition, and is bounded (MAX_LINE_CHARS, MAX_EXPANSION_ROUNDS,
MAX_GENERATED_LINES, MAX_EXPANDED_CHARS). Meaning is given to the tree by config.py.

Safety limits (keepalived has none; these make a hostile or mistaken config an error, never a hang
or a MemoryError):
- only regular, non-executable files are read (opened O_NONBLOCK and checked with fstat, so a FIFO
  or /dev/zero is refused at once; keepalived also skips executable and non-regular files);
- a file is at most MAX_FILE_BYTES (16 MiB); one load reads at most MAX_FILES files and
  MAX_TOTAL_BYTES bytes; each file is read at most once per load (a second include of it is an
  error, which also stops include loops); includes nest at most MAX_INCLUDE_DEPTH deep;
- `{ }` blocks nest at most MAX_BLOCK_DEPTH deep.

Messages never echo the text of an *included* file (it may be any file, e.g. `include /etc/shadow`),
nor a line using a definition made in another file, nor any token written after `auth_pass`: Source.show() renders such a value as "(not shown)" and any
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
# keepalived's include variants (lib/parser.c check_include()): letter -> what is an error besides unreadable files.
INCLUDE_KINDS = {"include": "", "includer": "r", "includem": "m", "includew": "w", "includeb": "b", "includea": "a"}
# Bounds of keepalived's definitions ($NAME=...), their expansion and ~SEQ (keepalived has none but a line length).
MAX_LINE_CHARS = 64 * 1024
MAX_DEFINITION_CHARS = 1024 * 1024
MAX_GENERATED_LINES = 100000
MAX_EXPANSION_ROUNDS = 64
MAX_EXPANDED_CHARS = 16 * 1024 * 1024
# The system id of `@ID` / `@^ID` lines: keepalived's -i CONFIG_ID, by default the host name up to its first '.'.
# None: the host name (the `-i/--config-id` option of vipd sets it).
CONFIG_ID = None
DEFINITION = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)=")  # no blank before '=' (keepalived check_definition())
USE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)(?=[ \t,)]|$))")
SEQ = re.compile(r"~SEQ(x?)[ \t]*\([ \t]*([^ \t,)]+)[ \t]*,([^)]*)\)[ \t]*(.*)\Z", re.S)


@dataclass
class Token:
    value: str
    file: str
    line: int
    quoted: bool = False
    secret: bool = False
    # Which logical line of physical line `line` (several when $ definitions or ~SEQ expand into lines).
    part: int = 0

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
    # keepalived's config reader state, shared by every file of one load: $NAME definitions
    # (name -> Definition), the one being continued over lines, lines generated so far, the system id.
    defs: dict = field(default_factory=dict)
    continued: Optional["Definition"] = None
    generated: int = 0
    expanded: int = 0
    config_id: Optional[str] = None

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


@dataclass
class Definition:
    """`$NAME=VALUE` (lib/parser.c check_definition()); a value ending in '\\' goes on over the next lines."""

    name: str
    value: str
    file: str
    multiline: bool = False


def system_id():
    """keepalived's config_id: -i ID, else the host name up to its first '.'."""
    if CONFIG_ID is not None:
        return CONFIG_ID
    return os.uname().nodename.split(".", 1)[0]


def strip_comment(text):
    """keepalived's decomment() without resolving escapes (split_line() does that): leading and trailing
    blanks removed, the text from the first unquoted, unescaped '#' or '!' dropped."""
    i, n, quote = 0, len(text), False
    while i < n:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == '"':
            quote = not quote
        elif not quote and ch in "#!":
            text = text[:i]
            break
        i += 1
    return text.strip(" \t\r\f\v")


def logical_lines(raw, file, lineno, src):
    """The lines keepalived's read_line() makes of one physical line: `@ID` / `@^ID` prefixes, `$NAME=VALUE`
    definitions (also over several lines with '\\'), `$NAME` / `${NAME}` expansion and `~SEQ(VAR, START,
    STEP, END) TEXT`. Returns [(text, tainted)]: `tainted` when a definition from another file was used (the
    line's words are then never shown in a message, as any text of an included file)."""
    if src.continued is not None:
        return _continue_definition(raw, src)
    if not src.defs and raw.lstrip(" \t")[:1] not in ("@", "$", "~"):
        return [(raw, False)]
    line = strip_comment(raw)
    if not line:
        return []
    return _expand(line, file, lineno, src, False)


def _continue_definition(raw, src):
    d = src.continued
    line = strip_comment(raw) if raw.strip(" \t\r") else ""
    if line.endswith("\\"):
        body = line[:-1].rstrip(" \t")
        if body:
            d.value += body + "\n"
    else:
        d.value += line
        src.continued = None
        d.value = d.value.rstrip("\n")
        d.multiline = "\n" in d.value
    if len(d.value) > MAX_DEFINITION_CHARS:
        src.error(d.file, 0, "definition $%s is longer than %d characters" % (d.name, MAX_DEFINITION_CHARS))
        src.continued = None
        src.defs.pop(d.name, None)
    return []


def _expand(line, file, lineno, src, tainted, nest=0):
    if src.generated >= MAX_GENERATED_LINES:
        return []
    if nest > MAX_EXPANSION_ROUNDS:
        src.error(file, lineno, "$ definitions and ~SEQ nest more than %d deep (a definition using itself?)" % MAX_EXPANSION_ROUNDS)
        src.generated = MAX_GENERATED_LINES + 1  # one message, and nothing more is generated
        return []
    extra = []
    for _round in range(MAX_EXPANSION_ROUNDS):
        if line.startswith("@"):
            rev = line[1:2] == "^"
            ofs = 2 if rev else 1
            m = re.search("[ \t]", line[ofs:])
            if m is None:
                return []
            if (line[ofs:ofs + m.start()] == (src.config_id if src.config_id is not None else system_id())) == rev:
                return []
            line = line[ofs + m.start():].lstrip(" \t")
        m = DEFINITION.match(line)
        if m:
            value = line[m.end():].lstrip(" \t")
            d = Definition(m.group(1), value, file)
            if value.endswith("\\"):
                body = value[:-1].rstrip(" \t")
                d.value = body + "\n" if body else ""
                src.continued = d
            src.defs[d.name] = d
            return []
        if line.startswith("~SEQ"):
            return _seq(line, file, lineno, src, tainted, nest)
        if line.startswith("~LST"):
            src.error(file, lineno, "~LST is not implemented by vipd (use ~SEQ or write the lines out)")
            return []
        if not src.defs or "$" not in line or line.startswith("~"):
            break
        new, used_tainted, more = _replace(line, file, src)
        if new is None:
            break
        tainted = tainted or used_tainted
        if len(new) > MAX_LINE_CHARS:
            src.error(file, lineno, "line is longer than %d characters after $ expansion" % MAX_LINE_CHARS)
            return []
        line = strip_comment(new)
        if more:
            extra = more + extra
        if not (line.startswith("@") or "$" in line):
            break
    else:
        src.error(file, lineno, "$ definitions expand more than %d times in this line (a definition using itself?)" % MAX_EXPANSION_ROUNDS)
        return []
    src.generated += 1
    src.expanded += len(line)
    if src.expanded > MAX_EXPANDED_CHARS:
        src.error(file, lineno, "$ definitions and ~SEQ expand to more than %d MiB of text" % (MAX_EXPANDED_CHARS >> 20))
        src.generated = MAX_GENERATED_LINES + 1
        return []
    out = [(line, tainted)] if line else []
    for text in extra:
        out.extend(_expand(text, file, lineno, src, tainted, nest + 1))
    if src.generated == MAX_GENERATED_LINES:
        src.error(file, lineno, "$ definitions and ~SEQ generate more than %d lines" % MAX_GENERATED_LINES)
        src.generated = MAX_GENERATED_LINES + 1
        return []
    return out


def _replace(line, file, src):
    """keepalived's replace_param(): (new text, tainted, further lines of a multiline value) or (None, ...)
    when no known definition is used. A multiline definition is expanded only at the end of the line."""
    parts, pos, tainted, more, found = [], 0, False, [], False
    for m in USE.finditer(line):
        d = src.defs.get(m.group(1) or m.group(2))
        if d is None or (d.multiline and m.end() != len(line)):
            continue
        found = True
        tainted = tainted or d.file != file
        value = d.value
        if d.multiline:
            value, *more = value.split("\n")
        parts.append(line[pos:m.start()])
        parts.append(value)
        pos = m.end()
    if not found:
        return None, False, []
    parts.append(line[pos:])
    return "".join(parts), tainted, more


def _seq(line, file, lineno, src, tainted, nest=0):
    """`~SEQ[x](VAR, [START, [STEP,]] END) TEXT`: TEXT once per value, with $VAR set to it."""
    m = SEQ.match(line)
    numbers = None
    if m:
        params = m.group(3)
        if src.defs and "$" in params:
            new, _t, more = _replace(params, file, src)
            params = params if new is None or more else new
        try:
            numbers = [int(p.strip(), 0) for p in params.split(",")]
        except ValueError:
            numbers = None
    if not m or not numbers or len(numbers) > 3:
        src.error(file, lineno, "invalid ~SEQ definition: ~SEQ(VAR, [START, [STEP,]] END) TEXT")
        return []
    if len(numbers) == 1:
        end = numbers[0]
        start, step = (-1 if end < 0 else 1), (-1 if end < 1 else 1)
    elif len(numbers) == 2:
        start, end = numbers
        step = 1 if start <= end else -1
    else:
        start, step, end = numbers
        if not step or (start < end and step < 0) or (start > end and step > 0):
            src.error(file, lineno, "invalid ~SEQ values")
            return []
    hexa = m.group(1) == "x"
    if hexa and (start < 0 or end < 0):
        src.error(file, lineno, "~SEQx is only valid for positive numbers")
        return []
    count = (end - start) // step + 1
    if count > MAX_GENERATED_LINES - src.generated:
        src.error(file, lineno, "~SEQ would generate more than %d lines" % MAX_GENERATED_LINES)
        return []
    out = []
    for value in range(start, end + (1 if step > 0 else -1), step):
        src.defs[m.group(2)] = Definition(m.group(2), ("%x" if hexa else "%d") % value, file)
        out.extend(_expand(m.group(4), file, lineno, src, tainted, nest + 1))
    return out


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
        for part, (line, tainted) in enumerate(logical_lines(raw, filename, lineno, src)):
            line_tokens = split_line(line, filename, lineno, src)
            for tok in line_tokens:
                tok.part = part
                if tainted:
                    tok.secret = True  # holds text defined in another file: never shown
            if line_tokens and line_tokens[0].value in INCLUDE_KINDS and not line_tokens[0].quoted:
                # keepalived takes the rest of the line as the pattern (braces included: GLOB_BRACE).
                rest = strip_comment(line)[len(line_tokens[0].value):].strip(" \t")
                raw_pattern = rest if rest and not any(t.quoted for t in line_tokens) else None
                _include(line_tokens, filename, src, depth, stack, tokens, raw_pattern)
                continue
            tokens.extend(line_tokens)
    if src.continued is not None and src.continued.file == filename:
        _continue_definition("", src)  # the definition ends with its file
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


def brace_expand(pattern, limit=MAX_FILES):
    """glob's GLOB_BRACE: "a{b,c}d" -> ["abd", "acd"] (nested braces too; a '{' without its ',' and '}' stays)."""
    depth, start, commas = 0, -1, []
    for i, ch in enumerate(pattern):
        if ch == "{":
            if depth == 0:
                start, commas = i, []
            depth += 1
        elif ch == "," and depth == 1:
            commas.append(i)
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                if not commas:
                    rest = brace_expand(pattern[i + 1:], limit)
                    return [pattern[:i + 1] + r for r in rest][:limit + 1]
                bounds = [start] + commas + [i]
                out = []
                for a, b in zip(bounds, bounds[1:]):
                    for tail in brace_expand(pattern[a + 1:b] + pattern[i + 1:], limit):
                        out.append(pattern[:start] + tail)
                        if len(out) > limit:
                            return out
                return out
    return [pattern]


def _include(line_tokens, filename, src, depth, stack, out, raw_pattern=None):
    """`include PATTERN` and keepalived's variants: includer (an unreadable file is an error: always so in
    vipd), includem (no match of a pattern without wildcard: always an error in vipd), includew (a wildcard
    matching nothing is an error, not a warning), includeb (every brace alternative must match), includea (all)."""
    lineno = line_tokens[0].line
    kind = INCLUDE_KINDS[line_tokens[0].value]
    name = line_tokens[0].value
    if len(line_tokens) < 2:
        src.error(filename, lineno, "%s needs a file name or pattern" % name)
        return
    where = line_tokens[1]
    # keepalived takes the rest of the line as the pattern.
    pattern = raw_pattern or " ".join(t.value for t in line_tokens[1:])
    shown = src.show(where, pattern)
    if depth >= MAX_INCLUDE_DEPTH:
        src.error(filename, lineno, "include of %s refused: includes nest more than %d deep" % (shown, MAX_INCLUDE_DEPTH))
        return
    base = os.path.dirname(filename) if filename and not filename.startswith("<") else os.getcwd()
    full = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
    alternatives = brace_expand(full)
    if len(alternatives) > MAX_FILES:
        src.error(filename, lineno, "include pattern %s matches more than %d files" % (shown, MAX_FILES))
        return
    has_glob = len(alternatives) > 1 or any(c in full for c in GLOB_CHARS)
    matches = []
    for alt in alternatives:
        wild = any(c in alt for c in GLOB_CHARS)
        try:
            found = sorted(itertools.islice(glob.iglob(alt), MAX_FILES + 1)) if wild else ([alt] if _exists(alt) else [])
        except (OSError, ValueError, RecursionError) as exc:
            src.error(filename, lineno, "include pattern %s cannot be expanded: %s" % (shown, _strerror(exc)))
            return
        if not found and not wild and len(alternatives) > 1 and kind in ("b", "a"):
            src.error(filename, lineno, "%s %s: a file it names is missing" % (name, shown))
            return
        matches.extend(p for p in found if p not in matches)
        if len(matches) > MAX_FILES:
            src.error(filename, lineno, "include pattern %s matches more than %d files" % (shown, MAX_FILES))
            return
    if not has_glob and not matches:
        src.error(filename, lineno, "include file %s not found" % shown)
        return
    if not matches:
        if kind in ("w", "a"):
            src.error(filename, lineno, "%s pattern %s matches no file" % (name, shown))
        else:
            src.warning(filename, lineno, "include pattern %s matches no file" % shown)
        return
    repeats = [] if has_glob else None
    for path in matches:
        if has_glob and _isdir(path):
            if kind:
                src.error(filename, lineno, "%s %s: a match is a directory" % (name, shown))
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
        while j < n and tokens[j].file == tok.file and tokens[j].line == tok.line and tokens[j].part == tok.part \
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
