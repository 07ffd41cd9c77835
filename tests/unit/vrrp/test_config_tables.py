# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyword tables of config.py agree with config_keywords.py: every keyword a table reads is listed as
implemented (so messages show it as a keyword) and none is also listed as refused or warned."""
from __future__ import annotations

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_keywords as kw

TABLES = {
    "global_defs": (config.GLOBAL_DEFS_KEYWORDS, kw.GLOBAL_DEFS),
    "vrrp_script": (config.VRRP_SCRIPT_KEYWORDS, kw.VRRP_SCRIPT),
    "track_file": (config.TRACK_FILE_KEYWORDS, frozenset()),
    "vrrp_sync_group": (config.SYNC_GROUP_KEYWORDS, kw.SYNC_GROUP),
    "vrrp_instance": (config.VRRP_INSTANCE_KEYWORDS, kw.VRRP_INSTANCE),
}


@pytest.mark.parametrize("block", sorted(TABLES))
def test_table_keywords_are_implemented_and_not_unimplemented(block):
    table, unimplemented = TABLES[block]
    assert sorted(set(table) - kw.IMPLEMENTED) == []
    assert sorted(set(table) & unimplemented) == []
    assert all(callable(handler) for handler in table.values())


@pytest.mark.parametrize("block", sorted(TABLES))
def test_every_table_keyword_is_read_not_unknown(block):
    """A keyword of the table, given a wrong value, is never reported as unknown (it reaches its handler)."""
    table, _unimplemented = TABLES[block]
    for keyword in sorted(table):
        text = {
            "global_defs": "global_defs {\n %s { x }\n}\n",
            "vrrp_script": "vrrp_script s {\n script /bin/true\n %s { x }\n}\n",
            "track_file": "track_file t {\n file /tmp/x\n %s { x }\n}\n",
            "vrrp_sync_group": "vrrp_sync_group g {\n %s { x }\n}\n",
            "vrrp_instance": "vrrp_instance v {\n %s { x }\n}\n",
        }[block] % keyword
        try:
            config.parse_text(text)
            messages = []
        except config.ConfigError as exc:
            messages = [m.reason for m in exc.messages]
        assert not any(m.startswith("unknown keyword '%s'" % keyword) for m in messages), (keyword, messages)
