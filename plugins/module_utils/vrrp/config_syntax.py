# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived configuration syntax: lexer, `include`, and the generic block tree.

Follows keepalived's lib/parser.c: a statement is one line (keyword plus its
arguments); `#` and `!` outside quotes start a comment (`\\#`, `\\!` escape them);
`{` and `}` outside quotes are tokens even when glued to a word; `"..."` is one token;
`include PATTERN` (a line of its own) splices the globbed files in, relative to the
including file's directory. Meaning is given to the tree by config.py.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import glob
import os
from dataclasses import dataclass, field
from typing import List, Optional

from .config_model import Message

# keepalived has no documented limit; this stops include loops (a.conf includes itself).
MAX_INCLUDE_DEPTH = 8
GLOB_CHARS = "*?["


@dataclass
class Token:
    value: str
    file: str
    line: int
    quoted: bool = False

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

    @property
    def values(self):
        return [t.value for t in self.args]


@dataclass
class Source:
    """Collects messages and the files read while lexing (shared with config.py)."""

    messages: List[Message] = field(default_factory=list)
    files: List[str] = field(default_factory=list)

    def error(self, file, line, reason):
        self.messages.append(Message(file, line, reason, "error"))

    def warning(self, file, line, reason):
        self.messages.append(Message(file, line, reason, "warning"))


def split_line(text, file, lineno, src):
    """Tokens of one physical line (comments removed), as keepalived splits them."""
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


def lex_text(text, filename, src, depth=0, stack=()):
    """Token list of `text` (file name `filename`), following includes."""
    if filename not in src.files:
        src.files.append(filename)
    tokens = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line_tokens = split_line(raw, filename, lineno, src)
        if line_tokens and line_tokens[0].value == "include" and not line_tokens[0].quoted:
            _include(line_tokens, filename, src, depth, stack, tokens)
            continue
        tokens.extend(line_tokens)
    return tokens


def lex_file(path, src, depth=0, stack=(), origin=None):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except (IOError, OSError) as exc:
        file, line = origin if origin else (path, 0)
        src.error(file, line, "cannot read '%s': %s" % (path, exc.strerror or exc))
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return lex_text(text, path, src, depth, stack + (os.path.realpath(path),))


def _include(line_tokens, filename, src, depth, stack, out):
    lineno = line_tokens[0].line
    if len(line_tokens) < 2:
        src.error(filename, lineno, "include needs a file name or pattern")
        return
    # keepalived takes the rest of the line as the pattern.
    pattern = " ".join(t.value for t in line_tokens[1:])
    if depth >= MAX_INCLUDE_DEPTH:
        src.error(filename, lineno, "include depth exceeds %d (include loop?) at '%s'" % (MAX_INCLUDE_DEPTH, pattern))
        return
    base = os.path.dirname(filename) if filename and not filename.startswith("<") else os.getcwd()
    full = pattern if os.path.isabs(pattern) else os.path.join(base, pattern)
    matches = sorted(glob.glob(full))
    if not matches:
        if any(c in pattern for c in GLOB_CHARS):
            src.warning(filename, lineno, "include pattern '%s' matches no file" % pattern)
        else:
            src.error(filename, lineno, "include file '%s' not found" % pattern)
        return
    for path in matches:
        if os.path.isdir(path):
            continue
        if os.path.realpath(path) in stack:
            src.error(filename, lineno, "include loop: '%s' includes itself" % path)
            continue
        out.extend(lex_file(os.path.normpath(path), src, depth + 1, stack, origin=(filename, lineno)))


def build_tree(tokens, src):
    """Group tokens into statements and blocks; reports brace errors."""
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
        node = Node(tok.value, args, tok.file, tok.line, quoted=tok.quoted)
        current.append(node)
        last = node
        i = j
    for opened, _parent in reversed(stack):
        src.error(opened.file, opened.line, "block '%s' is not closed (missing '}')" % opened.keyword)
    return root
