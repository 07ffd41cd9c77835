# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keepalived 2.2.7 sync groups: group tracking (track_interface/script/file/process in vrrp_sync_group, added to
every member by sync_group_tracking_init()) and the start rule of members (vrrp_sync_set_group(),
vrrp_complete_init(), vrrp_init_state()), on the injected clock."""
from __future__ import annotations

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import config, config_render, supervisor, sync_tracking, tracking
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import Machine, Params, State, Transition

SCRIPTS = """vrrp_script chk {
    script /bin/true
    weight -20
}
vrrp_script plain {
    script /bin/true
}
track_file tf {
    file /tmp/vipd-nonexistent-tf
    weight 3
}
"""


def inst(name, vrid, lines="", ifname="eth0"):
    return """vrrp_instance %s {
    interface %s
    virtual_router_id %d
%s    virtual_ipaddress {
        198.51.100.%d/24
    }
}
""" % (name, ifname, vrid, lines, vrid)


def group(lines, members=("VI_1", "VI_2")):
    return "vrrp_sync_group G {\n    group {\n%s    }\n%s}\n" % ("".join("        %s\n" % m for m in members), lines)


def parse(text):
    return config.parse_text(text, "k.conf")


# ---------------------------------------------------------------- group tracking: parsing

def test_group_tracking_is_parsed_with_resolved_weights():
    cfg = parse(SCRIPTS + inst("VI_1", 1) + inst("VI_2", 2) +
                group("    track_script {\n        chk\n        plain weight 5\n    }\n"
                      "    track_interface {\n        eth9 weight -10\n        eth8\n    }\n"
                      "    track_file {\n        tf\n    }\n"))
    g = cfg.sync_groups["G"]
    assert g.track_scripts == [("chk", -20), ("plain", 5)]
    assert g.track_interfaces == [("eth9", -10), ("eth8", 0)]
    assert g.track_files == [("tf", 3)]
    assert cfg.warnings == []


def test_every_member_tracks_the_group_objects_with_the_group_weight():
    cfg = parse(SCRIPTS + inst("VI_1", 1) + inst("VI_2", 2, "    priority 150\n") +
                group("    track_script {\n        chk\n    }\n    track_interface {\n        eth9 weight -10\n    }\n"))
    for name in ("VI_1", "VI_2"):
        ifs, scripts, files, procs = sync_tracking.members_tracking(cfg, cfg.instances[name])
        assert scripts == [("chk", -20)] and ifs == [("eth9", -10)] and files == [] and procs == []
    # the weights change the effective priority as any tracked object (within 1..254)
    t = tracking.InstanceTracking(150)
    t.add("script", "chk", -20, False, False)
    t.add("interface", "eth9", -10, False, False)
    assert t.evaluate().priority == 120 and not t.evaluate().faults


def test_an_unweighted_group_script_puts_every_member_in_fault():
    cfg = parse(SCRIPTS + inst("VI_1", 1) + inst("VI_2", 2) + group("    track_script {\n        plain\n    }\n"))
    for name in ("VI_1", "VI_2"):
        assert sync_tracking.members_tracking(cfg, cfg.instances[name])[1] == [("plain", 0)]
    t = tracking.InstanceTracking(100)
    t.add("script", "plain", 0, False, False)
    assert t.evaluate().faults


def test_an_object_the_member_tracks_itself_takes_the_group_weight_unless_it_is_unweighted():
    cfg = parse(SCRIPTS + inst("VI_1", 1, "    track_script {\n        plain\n    }\n") +
                inst("VI_2", 2, "    track_file {\n        tf weight 0\n    }\n") +
                group("    sync_group_tracking_weight\n    track_script {\n        plain weight 7\n        chk\n    }\n"
                      "    track_file {\n        tf weight 9\n    }\n"))
    _ifs, scripts, files, _p = sync_tracking.members_tracking(cfg, cfg.instances["VI_1"])
    assert scripts == [("plain", 0), ("chk", -20)]            # unweighted on the instance: stays a FAULT-only object
    assert files == [("tf", 9)]
    _ifs, scripts, files, _p = sync_tracking.members_tracking(cfg, cfg.instances["VI_2"])
    assert files == [("tf", 0)] and scripts == [("plain", 7), ("chk", -20)]


def test_a_member_that_is_the_address_owner_clears_the_group_weights_and_it_is_reported():
    cfg = parse(SCRIPTS + inst("VI_1", 1, "    priority 255\n") + inst("VI_2", 2) +
                group("    track_script {\n        chk\n    }\n    track_interface {\n        eth9 weight 5\n    }\n"))
    g = cfg.sync_groups["G"]
    assert g.track_scripts == [("chk", 0)] and g.track_interfaces == [("eth9", 0)]
    reported = [m for m in cfg.warnings if "with member having priority 255" in m.reason]
    assert len(reported) == 2 and all(m.check_fails for m in reported)


def test_the_members_own_interface_in_the_group_is_reported_and_stays_fault_only():
    cfg = parse(inst("VI_1", 1) + inst("VI_2", 2, ifname="eth1") + group("    track_interface {\n        eth0 weight -5\n    }\n"))
    assert any("track_interface eth0 is configured on VRRP instance and sync group" in m.reason and m.line == 21
               for m in cfg.warnings)
    assert sync_tracking.members_tracking(cfg, cfg.instances["VI_1"])[0] == []
    assert sync_tracking.members_tracking(cfg, cfg.instances["VI_2"])[0] == [("eth0", -5)]


@pytest.mark.parametrize("block,error", [
    ("    track_script {\n        nope\n    }\n", "k.conf:21: track_script: no vrrp_script nope is defined"),
    ("    track_file {\n        nope\n    }\n", "k.conf:21: track_file: no track_file nope is defined"),
    ("    track_interface {\n        eth9 weight 300\n    }\n", "k.conf:21: track_interface weight '300' is not valid"),
    ("    track_interface {\n        eth9 weight\n    }\n", "k.conf:21: track_interface line takes NAME [weight N]"),
    ("    track_script {\n        late\n    }\n", "k.conf:21: vrrp_script late is defined after vrrp_sync_group G"),
    ("    track_process {\n        nope\n    }\n", "k.conf:21: track_process: no vrrp_track_process nope is defined before vrrp_sync_group G"),
    ("    track_script chk\n", "k.conf:20: keyword 'track_script' needs a '{ ... }' block"),
])
def test_bad_group_tracking_is_an_error_at_its_line(block, error):
    text = inst("VI_1", 1) + inst("VI_2", 2) + group(block) + "vrrp_script late {\n    script /bin/true\n}\n"
    with pytest.raises(config.ConfigError) as err:
        parse(text)
    assert error in str(err.value)


def test_group_track_process_is_added_to_every_member():
    text = ("vrrp_track_process web {\n    process vipd-nonexistent-web\n    weight -30\n}\n" + inst("VI_1", 1) + inst("VI_2", 2) +
            group("    track_process {\n        web\n    }\n"))
    cfg = parse(text)
    for name in ("VI_1", "VI_2"):
        assert sync_tracking.members_tracking(cfg, cfg.instances[name])[3] == [("web", -30, False)]


def test_group_tracking_renders_and_reads_back():
    cfg = parse(SCRIPTS + inst("VI_1", 1) + inst("VI_2", 2) +
                group("    track_script {\n        chk weight -3\n    }\n    track_interface {\n        eth9 weight -10\n    }\n"))
    back = config.parse_text(config_render.render_config(cfg))
    assert back.sync_groups["G"].track_scripts == [("chk", -3)] and back.sync_groups["G"].track_interfaces == [("eth9", -10)]


# ---------------------------------------------------------------- the start rule

@pytest.mark.parametrize("lines1,lines2,modes", [
    # both explicit state MASTER + priority 255: the group starts MASTER, owners go master at once
    ("    state MASTER\n    priority 255\n", "    state MASTER\n    priority 255\n", ("auto", "auto")),
    # an owner without an explicit state: the group starts BACKUP; owners still wanting MASTER wait one interval
    ("    priority 255\n", "    state MASTER\n    priority 255\n", ("short", "short")),
    # state MASTER but not the owner: every member is made to want BACKUP (a full Master_Down_Interval)
    ("    state MASTER\n    priority 150\n", "    state MASTER\n    priority 150\n", ("backup", "backup")),
    # an owner with a backup member: the owner does not take over at once either
    ("    state MASTER\n    priority 255\n", "    state BACKUP\n    priority 100\n", ("backup", "backup")),
    ("    state BACKUP\n    priority 100\n", "    state BACKUP\n    priority 90\n", ("backup", "backup")),
])
def test_start_modes_follow_keepalived(lines1, lines2, modes):
    cfg = parse(inst("VI_1", 1, lines1) + inst("VI_2", 2, lines2) + group(""))
    assert (supervisor.start_mode(cfg, "VI_1"), supervisor.start_mode(cfg, "VI_2")) == modes


def test_outside_a_group_only_an_instance_wanting_master_may_take_over_at_once():
    cfg = parse(inst("VI_1", 1, "    state MASTER\n    priority 150\n") + inst("VI_3", 3, "    priority 255\n") +
                inst("VI_4", 4, "    state BACKUP\n    priority 255\n") + inst("VI_5", 5))
    assert [supervisor.start_mode(cfg, n) for n in ("VI_1", "VI_3", "VI_4", "VI_5")] == ["auto", "auto", "backup", "backup"]


def test_an_owner_then_a_backup_member_is_reported_as_keepalived_does():
    cfg = parse(inst("VI_1", 1, "    state MASTER\n    priority 255\n") + inst("VI_2", 2, "    state BACKUP\n") + group(""))
    assert any("has some member(s) as address owner and some not" in m.reason and m.check_fails for m in cfg.warnings)


def _machine(mode, priority=150, version=2, advert_int=1.0):
    return Machine(Params(vrid=1, priority=priority, advert_int=advert_int, version=version, primary_ip="198.51.100.1",
                          start_state=State.MASTER, start_mode=mode))


def test_short_start_waits_one_interval_and_the_smallest_skew():
    m = _machine("short", priority=255)
    actions = m.start(100.0)
    assert m.state == State.BACKUP and isinstance(actions[-1], Transition)
    assert m.next_deadline == pytest.approx(100.0 + 1.0 + 1 / 256.0)
    assert m.on_timer(100.0 + 1.0) == []
    assert m.on_timer(100.0 + 1.0 + 1 / 256.0)[-1].new == State.MASTER


def test_short_start_v3_skew_is_one_256th_of_the_interval():
    m = _machine("short", priority=255, version=3, advert_int=0.5)
    m.start(0.0)
    assert m.next_deadline == pytest.approx(0.5 + 0.5 / 256.0)


def test_a_master_heard_during_a_short_start_keeps_the_member_backup():
    m = _machine("short", priority=200)
    m.start(0.0)
    m.on_advert(0.5, "198.51.100.2", 250, 100)
    assert m.on_timer(1.01) == [] and m.state == State.BACKUP
    assert m.next_deadline == pytest.approx(0.5 + 3 + (256 - 200) / 256.0)


def test_backup_start_keeps_even_the_owner_in_backup_for_a_master_down_interval():
    m = _machine("backup", priority=255)
    m.start(0.0)
    assert m.state == State.BACKUP and m.next_deadline == pytest.approx(3 + 1 / 256.0)


def test_auto_start_of_the_owner_is_master_at_once():
    m = _machine("auto", priority=255)
    m.start(0.0)
    assert m.state == State.MASTER


def test_short_start_counts_from_the_end_of_vrrp_startup_delay():
    m = _machine("short", priority=255)
    m.delayed_start = 10.0
    m.start(0.0)
    assert m.next_deadline == pytest.approx(10.0 + 1.0 + 1 / 256.0)


def test_an_unknown_start_mode_is_refused():
    with pytest.raises(ValueError):
        _machine("soon")
