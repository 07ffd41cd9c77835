# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""atheris harness: the keepalived-syntax config parser (vrrp/config.py parse_text, with its lexer, include
handling, extensions and validators), loaded as vipd loads it (package `vipd_engine`).

A crash is any exception other than config.ConfigError, or a parsed config whose instances cannot be
rendered back (render_config) and parsed again. Run it through tests/fuzz/run.py; by hand:
  python tests/fuzz/fuzz_config.py -max_total_time=60 CORPUS_DIR

The text is named as a file in tests/unit/fixtures/configs/good, so relative `include` lines reach the
fixture include files there. data[0] picks how the bytes become text: odd -> UTF-8 with lone surrogates
for undecodable bytes (what a module can be handed through JSON \\udcXX escapes), even -> what
load() reads from a file (UTF-8, else Latin-1).

FVFUZZ_NO_RENDER=1 (run.py --no-render-check) leaves out the render/parse invariant, to keep looking for
parser crashes while a render finding is open.
"""
from __future__ import annotations

import os
import sys

import atheris

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _engine  # noqa: E402  pylint: disable=wrong-import-position

config, config_render = _engine.load("vrrp.config", "vrrp.config_render")
FILENAME = os.path.join(_engine.FIXTURES, "configs", "good", "fuzz-input.conf")
RENDER = os.environ.get("FVFUZZ_NO_RENDER") != "1"


def _text(data):
    if data[0] & 1:
        return data[1:].decode("utf-8", "surrogateescape")
    try:
        return data[1:].decode("utf-8")
    except UnicodeDecodeError:
        return data[1:].decode("latin-1")


def TestOneInput(data):  # pylint: disable=invalid-name
    if not data:
        return
    try:
        cfg = config.parse_text(_text(data), FILENAME)
    except config.ConfigError as exc:
        if not str(exc):
            raise AssertionError("ConfigError without a message")
        return
    # a config the parser accepted renders and parses again (vipd and the modules rely on it)
    if RENDER and cfg.instances:
        again = config.parse_text(config_render.render_config(cfg), FILENAME)
        if sorted(again.instances) != sorted(cfg.instances):
            raise AssertionError("render/parse changed the instances: %r -> %r" % (sorted(cfg.instances), sorted(again.instances)))


def main():
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
