# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one weight parser (config.Context.weight) as every block reads it: vrrp_script, track_file,
vrrp_track_process (`weight N [reverse]`) and the tracking lines of an instance (`NAME weight N [reverse]`)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config import ConfigError

INSTANCE = "vrrp_instance VI {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress {\n  198.51.100.5/24\n }\n%s}\n"


def parse(text):
    try:
        return config.parse_text(text), []
    except ConfigError as exc:
        return None, [m.reason for m in exc.messages if m.level == "error"]


@pytest.mark.parametrize("words, weight, reverse, error", [
    ("-20", -20, False, None),
    ("253 reverse", 253, True, None),
    ("254", None, None, "vrrp_script weight '254' is not valid: must be an integer from -253 to 253"),
    ("5 backwards", None, None, "weight takes N [reverse]"),
    ("1 reverse x", None, None, "weight takes N [reverse]"),
    ("", None, None, "keyword 'weight' needs a value"),
])
def test_vrrp_script_weight(words, weight, reverse, error):
    cfg, errors = parse('vrrp_script chk {\n script "/bin/true"\n weight %s\n}\n' % words)
    if error is None:
        assert errors == [] and (cfg.scripts["chk"].weight, cfg.scripts["chk"].weight_reverse) == (weight, reverse)
    else:
        assert errors == [error]


@pytest.mark.parametrize("words, weight, reverse, error", [
    ("254 reverse", 254, True, None),
    ("-255", None, None, "track_file weight '-255' is not valid: must be an integer from -254 to 254"),
    ("", None, None, "weight takes N [reverse]"),
])
def test_track_file_weight(words, weight, reverse, error):
    cfg, errors = parse("track_file tf {\n file /tmp/fvu-weight\n weight %s\n}\n" % words)
    if error is None:
        assert errors == [] and (cfg.track_files["tf"].weight, cfg.track_files["tf"].weight_reverse) == (weight, reverse)
    else:
        assert errors == [error]


@pytest.mark.parametrize("line, expected, error", [
    ("eth1 weight 10", [("eth1", 10)], None),
    ("eth1 weight -254 reverse", [("eth1", -254)], None),
    ("eth1", [("eth1", None)], None),
    ("eth1 weight", None, "track_interface line takes NAME [weight N]"),
    ("eth1 wait 10", None, "track_interface line takes NAME [weight N]"),
    ("eth1 weight 300", None, "track_interface weight '300' is not valid: must be an integer from -254 to 254"),
])
def test_tracking_line_weight(line, expected, error):
    cfg, errors = parse(INSTANCE % (" track_interface {\n  %s\n }\n" % line))
    if error is None:
        assert errors == [] and cfg.instances["VI"].track_interfaces == expected
    else:
        assert errors == [error]


WORD = st.one_of(st.integers(-400, 400).map(str), st.sampled_from(["reverse", "noreverse", "weight", "x", "+5", "007", "-0"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(WORD, max_size=4))
def test_weight_words_read_as_keepalived_shape(words):
    """Any words after `weight`: accepted exactly when they are N [reverse] with N an integer within the bound."""
    cfg, errors = parse("track_file tf {\n file /tmp/fvu-weight\n weight %s\n}\n" % " ".join(words))
    shape = 1 <= len(words) <= 2 and (len(words) == 1 or words[1] == "reverse")
    number = bool(words) and re.match(r"^[+-]?[0-9]{1,20}$", words[0]) is not None and -254 <= int(words[0]) <= 254
    if shape and number:
        assert errors == [] and cfg.track_files["tf"].weight == int(words[0])
        assert cfg.track_files["tf"].weight_reverse == (len(words) == 2)
    else:
        assert len(errors) == 1 and ("weight takes N [reverse]" if not shape else "track_file weight ") in errors[0]
