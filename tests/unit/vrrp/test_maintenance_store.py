# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/maintenance.py: the persisted maintenance set (parse, plan, atomic save) and `vipd maintenance` arguments."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import cli, control
from ansible_collections.floating.vip.plugins.module_utils.vrrp import maintenance as mt


def test_round_trip_and_restart(tmp_path):
    store = mt.Store.in_dir(str(tmp_path / "state"))
    store.save(*store.planned(True, ["VI_2", "VI_1"], False, ["VI_1", "VI_2", "VI_3"]))
    path = tmp_path / "state" / "maintenance.json"
    assert json.loads(path.read_text()) == {"version": 1, "all": False, "instances": ["VI_1", "VI_2"]}
    assert oct(path.stat().st_mode & 0o777) == "0o600" and oct((tmp_path / "state").stat().st_mode & 0o777) == "0o700"
    again = mt.Store(str(path)).load()   # a restarted daemon
    assert again.error is None and again.covers("VI_1") and not again.covers("VI_3")


def test_plans():
    store = mt.Store(None)
    known = ["A", "B", "C"]
    assert store.planned(True, [], True, known) == (True, [])
    store.save(True, [])
    assert store.covers("NEW_BY_RELOAD")
    assert store.planned(False, ["B"], False, known) == (False, ["A", "C"])   # off for one while all are in
    assert store.planned(False, [], True, known) == (False, [])
    store.save(False, ["A"])
    assert store.planned(True, ["A"], False, known) == (False, ["A"])         # idempotent
    assert store.planned(False, ["A", "C"], False, known) == (False, [])


@pytest.mark.parametrize("text, reason", [
    ("", "not JSON"), ("[]", "not a JSON object"), ('{"version": 2}', "unknown version"),
    ('{"version": 1, "all": "yes"}', '"all"'), ('{"version": 1, "instances": "VI_1"}', '"instances"'),
    ('{"version": 1, "instances": ["a b"]}', '"instances"'), ('{"version": 1, "instances": [1]}', '"instances"'),
])
def test_bad_files_are_reported_and_treated_as_empty(tmp_path, text, reason):
    path = tmp_path / "maintenance.json"
    path.write_text(text)
    store = mt.Store(str(path)).load()
    assert reason in store.error and str(path) in store.error
    assert not store.all and store.names == []
    assert path.read_text() == text  # left for the operator to read


def test_save_failure_changes_nothing(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    store = mt.Store(str(blocker / "maintenance.json"))
    with pytest.raises(OSError):
        store.save(True, [])
    assert not store.all


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12))
def test_parse_any_json_gives_a_set_or_a_clear_error(value):
    try:
        every, names = mt.parse(json.dumps(value), "m.json")
    except mt.MaintenanceError as exc:
        assert str(exc).startswith("m.json: ")
    else:
        assert isinstance(every, bool) and all(mt.valid_name(n) for n in names)


def test_control_accepts_only_the_maintenance_arguments():
    req = control.parse_request(b'{"command": "maintenance", "state": "on", "instances": "VI_1 VI_2"}')
    assert control.check_arguments(req) == "maintenance"
    with pytest.raises(control.RequestError):
        control.check_arguments(control.parse_request(b'{"command": "maintenance", "wait": 1}'))
    with pytest.raises(control.RequestError):  # a list would be nested: names travel as one string
        control.parse_request(b'{"command": "maintenance", "instances": ["VI_1"]}')


def test_cli_arguments():
    parser = cli.build_parser()
    assert cli.maintenance_arguments(parser.parse_args(["maintenance", "on", "VI_1", "VI_2"])) == {
        "state": "on", "instances": "VI_1 VI_2"}
    assert cli.maintenance_arguments(parser.parse_args(["maintenance", "off", "--all"])) == {"state": "off", "all": True}
    assert cli.maintenance_arguments(parser.parse_args(["maintenance", "off"])) is None
    assert parser.parse_args(["run", "-f", "x"]).state_dir == "/var/lib/vipd"
    table = cli.format_status({"instances": [{"name": "VI_1", "maintenance": True}, {"name": "VI_2"}]})
    assert table.splitlines()[-1].endswith(": VI_1")
