# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of the daemon's timers must run on time (timer_selector.py): a backup's Master_Down timer and the GARP
pacer always, a master's advert beat only under max_auto_priority. An injected loop records which timers were
asked for on time; the selector's own rule is tested in test_timer_selector.py."""
from __future__ import annotations

from ansible_collections.floating.vip.plugins.module_utils.vrrp import beat, machine, procprio, reading
from tests.unit.vrrp import test_reading
from tests.unit.vrrp.test_scale import FakeLoop, _conf, fake, started_daemon  # noqa: F401 pylint: disable=unused-import


class OnTime:
    """TimerfdLoop's call_on_time on a fake loop, remembering the handles it made."""

    def __init__(self):
        super().__init__()
        self.on_time = set()

    def call_on_time(self, when, callback, *args):
        handle = self.call_at(when, callback, *args)
        self.on_time.add(id(handle))
        return handle


class OnTimeLoop(OnTime, FakeLoop):
    pass


class OnTimeReaderLoop(OnTime, test_reading.ReaderLoop):
    pass


def _daemon(fake, tmp_path, text, priority_of_process=False):  # noqa: F811
    net, made = fake
    path = tmp_path / "vipd.conf"
    path.write_text(text)
    loop = OnTimeLoop()

    def before():
        if priority_of_process:  # as Daemon.main() does before the instances start
            d = made[-1]
            d.priority = procprio.ProcessPriority(d.cfg.global_defs, lambda _msg: None)
    return started_daemon(made, path, loop, before), loop


def _live(loop, owner_type):
    return [h for h in loop.handles if not h.cancelled_ and isinstance(getattr(h.callback, "__self__", None), owner_type)]


def test_a_backups_master_down_timers_are_on_time_and_stay_so_as_adverts_move_them(fake, tmp_path):  # noqa: F811
    d, loop = _daemon(fake, tmp_path, _conf(5, priority=100))
    assert all(r.state == machine.State.BACKUP for r in d.instances.values())
    for _step in range(3):
        timers = _live(loop, reading.Reading) + [h for h in loop.handles if not h.cancelled_ and h.callback.__name__ == "on_timer"]
        assert timers, "a backup waits for its Master_Down_Interval"
        assert all(id(h) in loop.on_time for h in timers)
        loop.run_until(loop.t + 1.0)


def test_a_masters_advert_beat_is_asyncios_own_unless_max_auto_priority_counts_lateness(fake, tmp_path):  # noqa: F811
    d, loop = _daemon(fake, tmp_path, _conf(3))
    loop.run_until(loop.t + 2.5)
    assert all(r.state == machine.State.MASTER for r in d.instances.values())
    beats = _live(loop, beat.Beats)
    assert beats and not any(id(h) in loop.on_time for h in beats)

    text = _conf(3).replace("    router_id scale\n", "    router_id scale\n    max_auto_priority 10\n    min_auto_priority_delay 1000\n")
    d, loop = _daemon(fake, tmp_path, text, priority_of_process=True)
    loop.run_until(loop.t + 2.5)
    beats = _live(loop, beat.Beats)
    assert beats and all(id(h) in loop.on_time for h in beats)


def test_paced_garps_are_sent_on_time(fake, tmp_path):  # noqa: F811
    text = _conf(1, vips_per=6).replace("    router_id scale\n", "    router_id scale\n    vrrp_garp_interval 0.001\n")
    d, loop = _daemon(fake, tmp_path, text)
    paced = [h for h in loop.handles if not h.cancelled_ and h.callback.__name__ == "_drain"]
    assert paced, "six VIPs at 1 ms apart leave a queue"
    assert all(id(h) in loop.on_time for h in paced)


def test_a_channel_read_when_due_wakes_on_time_for_its_first_deadline(fake, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setattr(test_reading, "ReaderLoop", OnTimeReaderLoop)
    d, _log, loop, data, _ring = test_reading._quiet_backups(fake, tmp_path, monkeypatch)
    assert ("eth0", 4) in d.reading.quiet
    due = [h for h in loop.handles if not h.cancelled_ and h.callback.__name__ == "on_due"]
    assert due and all(id(h) in loop.on_time for h in due)
