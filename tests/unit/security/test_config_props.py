# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/config_syntax.py + config.py under hypothesis.

- Any text (control characters, every Unicode line separator, quotes, braces, backslashes, NULs, deep
  nesting) gives a Config or our own ConfigError, never another exception; every message is printable
  (no raw control character or line separator) and its line number counts only "\\n".
- For values of any kind written after a keyword, the lexer yields exactly one logical line per "\\n".
- Nothing read from an included file, and nothing written after `auth_pass`, ever reaches a message.
- Files that include each other in any pattern are each read at most once.
"""
from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_keywords
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import ConfigError
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config_syntax import Source, lex_text

SUPPRESS = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=SUPPRESS)
FEW = settings(max_examples=250, deadline=None, suppress_health_check=SUPPRESS)

# Every character str.splitlines() treats as a line break, keepalived's blanks, and the lexer's specials.
SEPARATORS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
SPECIALS = SEPARATORS + "\t \"'\\{}#!\x00/*?[]$"
# "vipd_check" is left out: its block handler (config_checks.py, not the keepalived keyword tables) is covered elsewhere.
KEYWORDS = sorted(k for k in config_keywords.KNOWN if k != "include") + ["vrrp_instance", "vrrp_script", "authentication"]
MARK = "Zq9"

any_char = st.one_of(st.sampled_from(SPECIALS), st.characters(blacklist_categories=("Cs",)), st.characters())
free_text = st.text(alphabet=any_char, max_size=300)
LITERALS = ["{", "}", '"', "#", "!", "\\", "include", "1", "255", "PASS", "198.51.100.1", "eth0", "2001:db8::1/64", "auth_pass"]
word = st.one_of(st.sampled_from(KEYWORDS), st.sampled_from(LITERALS), st.text(alphabet=any_char, min_size=1, max_size=12))
blank = st.sampled_from([" ", "\t", "\n", "\r\n", " \u2028 ", "\x0c", "\x85", "\n\n", "{", "}", " { ", " }\n"])
token_soup = st.lists(st.tuples(word, blank), max_size=80).map(lambda pairs: "".join(w + b for w, b in pairs))


@pytest.fixture(scope="module")
def workdir():
    path = tempfile.mkdtemp(prefix="fv-cfgprops-")
    try:
        with open(os.path.join(path, "a.conf"), "w", encoding="utf-8") as f:
            f.write("vrrp_script s {\n script /bin/true\n}\n")
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _parse(text, name):
    try:
        cfg = config.parse_text(text, name)
    except ConfigError as exc:
        assert exc.errors, "a ConfigError holds at least one error"
        return None, exc.messages
    return cfg, cfg.warnings


def _check_messages(messages, text):
    last = text.count("\n") + 1
    for m in messages:
        assert 0 <= m.line <= last, (m, last)
        shown = str(m)
        assert shown.isprintable(), repr(shown)  # no raw control character or line separator
        assert "\n" not in shown


@SETTINGS
@given(text=st.one_of(free_text, token_soup))
def test_any_text_gives_config_or_config_error(text, workdir):
    name = os.path.join(workdir, "main.conf")  # relative includes stay in our directory
    text = text.replace("/", "_")  # no absolute include of the host's files
    _cfg, messages = _parse(text, name)
    _check_messages(messages, text)


@FEW
@given(depth=st.integers(0, 3000), closes=st.integers(0, 3000), kw=st.sampled_from(KEYWORDS + ["x"]))
def test_deep_nesting_is_bounded(depth, closes, kw):
    text = ("%s {\n" % kw) * depth + "}\n" * closes
    _cfg, messages = _parse(text, "n.conf")
    _check_messages(messages, text)


@SETTINGS
@given(values=st.lists(st.text(alphabet=st.one_of(st.sampled_from(SPECIALS.replace("\n", "")),
                                                  st.characters(blacklist_characters="\n")), max_size=40), min_size=1, max_size=25))
def test_one_logical_line_per_newline(values):
    """Whatever follows a keyword on its line (U+2028, \\r, \\x85, quotes, braces...), the keyword starts
    a line of its own and every token carries the number of "\\n" before it plus one."""
    text = "\n".join("k%d %s" % (i, v) for i, v in enumerate(values))
    src = Source()
    tokens = lex_text(text, "l.conf", src)
    firsts = {}
    for tok in tokens:
        assert 1 <= tok.line <= len(values)
        firsts.setdefault(tok.line, tok)
    for i in range(len(values)):
        assert firsts[i + 1].value == "k%d" % i and not firsts[i + 1].quoted
    assert sorted(t.line for t in tokens if not t.quoted and t.value.startswith("k") and t.value[1:].isdigit()
                  and t.value == "k%d" % (t.line - 1)) == list(range(1, len(values) + 1))


@SETTINGS
@given(values=st.lists(st.text(alphabet=st.one_of(st.sampled_from(SEPARATORS.replace("\n", "") + "\t \\'"),
                                                  st.characters(blacklist_characters='\n{}"#!\x00')), max_size=30),
                       min_size=1, max_size=20))
def test_error_line_numbers_count_only_newlines(values):
    text = "\n".join("bogus%d %s" % (i, v) for i, v in enumerate(values))
    _cfg, messages = _parse(text, "c.conf")
    _check_messages(messages, text)
    unknown = [(m.line, m.reason) for m in messages if m.reason.startswith("unknown keyword")]
    assert unknown == [(i + 1, "unknown keyword 'bogus%d'" % i) for i in range(len(values))]


secret_word = st.text(alphabet=any_char, max_size=10).map(lambda w: MARK + w.replace("\n", " "))
included_soup = st.lists(st.tuples(st.one_of(st.sampled_from(KEYWORDS + ["{", "}", "include"]), secret_word), blank),
                         max_size=60).map(lambda pairs: "".join(w + b for w, b in pairs))


@FEW
@given(content=included_soup, main_tail=st.sampled_from(["", "bogus_main\n", "vrrp_instance\n", "}\n", "{\n"]))
def test_nothing_from_an_included_file_reaches_a_message(content, main_tail, workdir):
    with open(os.path.join(workdir, "inc.conf"), "w", encoding="utf-8", errors="surrogatepass") as f:
        f.write(content)
    text = "include inc.conf\n" + main_tail
    _cfg, messages = _parse(text, os.path.join(workdir, "main2.conf"))
    for m in messages:
        assert MARK not in str(m), str(m)


@SETTINGS
@given(secret=st.lists(secret_word, min_size=1, max_size=6), block=st.booleans())
def test_auth_pass_never_reaches_a_message(secret, block):
    rest = " ".join(secret)
    line = "authentication { auth_type PASS auth_pass %s }" % rest if block else \
        "authentication {\n  auth_type PASS\n  auth_pass %s\n }" % rest
    text = ("vrrp_instance VI_1 {\n interface eth1\n virtual_router_id 51\n %s\n virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n"
            % line)
    _cfg, messages = _parse(text, "p.conf")
    _check_messages(messages, text)
    for m in messages:
        assert MARK not in str(m), str(m)


@FEW
@given(graph=st.lists(st.lists(st.sampled_from(["f0.conf", "f1.conf", "f2.conf", "f3.conf", "*.conf", "f?.conf", "[f]*"]),
                               max_size=4), min_size=4, max_size=4))
def test_include_graphs_read_each_file_once(graph, workdir):
    folder = os.path.join(workdir, "g")
    os.makedirs(folder, exist_ok=True)
    for i, includes in enumerate(graph):
        with open(os.path.join(folder, "f%d.conf" % i), "w", encoding="utf-8") as f:
            f.write("".join("include %s\n" % p for p in includes))
    try:
        cfg = config.load(os.path.join(folder, "f0.conf"))
        files, messages = cfg.files, cfg.warnings
    except ConfigError as exc:
        files, messages = None, exc.messages
    if files is not None:
        assert len(files) == len(set(files)) <= 4
    # one message at most per include line
    assert len(messages) <= sum(len(x) for x in graph)
    for m in messages:
        assert str(m).isprintable()
