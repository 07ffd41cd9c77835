# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""vrrp/machine.py against an injected clock: every RFC 3768 / 5798 rule and keepalived 2.2.7 choice."""
from __future__ import annotations

import pytest

from ansible_collections.floating.vip.plugins.module_utils.vrrp import machine as m
from ansible_collections.floating.vip.plugins.module_utils.vrrp.machine import (
    AddVips, Machine, Params, RemoveVips, SendAdvert, SendGarp, State, Transition)

A, B, C = "198.51.100.1", "198.51.100.2", "198.51.100.3"
T0 = 1000.0


def mk(priority=100, advert_int=1.0, version=2, ip=A, **kw):
    return Machine(Params(vrid=51, priority=priority, advert_int=advert_int, version=version, primary_ip=ip, **kw))


def started(priority=100, now=T0, **kw):
    mach = mk(priority, **kw)
    mach.start(now)
    return mach


def master(priority=100, now=T0, **kw):
    """A machine that became master at `now` (its first advert went out at `now`)."""
    mach = mk(priority, **kw)
    mach.start(now - 10)
    acts = mach.on_timer(mach.next_deadline)
    assert mach.state == State.MASTER, acts
    mach.next_deadline = now + mach.params.advert_int  # as if it had just sent at `now`
    return mach


def approx(x):
    return pytest.approx(x, abs=1e-12)


def only_transition(actions):
    assert isinstance(actions[-1], Transition)
    assert all(not isinstance(a, Transition) for a in actions[:-1])
    assert actions[-1].reason
    return actions[-1]


MASTER_ACTIONS = [AddVips(), SendAdvert(100), SendGarp()]


# --- timers (RFC 3768 6.1, RFC 5798 6.1) --------------------------------------------------------------

@pytest.mark.parametrize("version,prio,adv,skew,mdi", [
    (2, 100, 1.0, 156 / 256, 3 + 156 / 256),            # the brief's example: 3 + 156/256 s
    (2, 100, 2.0, 156 / 256, 6 + 156 / 256),            # v2 Skew_Time does not scale with the interval
    (2, 254, 1.0, 2 / 256, 3 + 2 / 256),
    (2, 1, 3.0, 255 / 256, 9 + 255 / 256),
    (3, 100, 1.0, 156 / 256, 3 + 156 / 256),            # v3 in centiseconds: 156*100/256 cs
    (3, 100, 0.5, 156 * 50 / 256 / 100, 1.5 + 156 * 50 / 256 / 100),
    (3, 200, 0.1, 56 * 10 / 256 / 100, 0.3 + 56 * 10 / 256 / 100),
    (3, 150, 40.95, 106 * 4095 / 256 / 100, 3 * 40.95 + 106 * 4095 / 256 / 100),
])
def test_skew_and_master_down_interval(version, prio, adv, skew, mdi):
    mach = mk(prio, adv, version)
    assert mach.skew_time == approx(skew)
    assert mach.master_down_interval == approx(mdi)


def test_v3_interval_is_kept_in_centiseconds():
    mach = mk(100, 0.123, 3)
    assert mach.advert_int == 0.12


def test_bad_params_refused():
    for kw in (dict(priority=0), dict(priority=256), dict(version=4), dict(advert_int=0)):
        args = dict(priority=100, advert_int=1.0, version=2)
        args.update(kw)
        with pytest.raises(ValueError):
            Machine(Params(vrid=1, **args))


# --- startup -------------------------------------------------------------------------------------------

def test_start_as_backup_and_wait_master_down_interval():
    mach = mk(100)
    assert mach.state == State.INIT and mach.next_deadline is None
    acts = mach.start(T0)
    assert acts == [Transition(State.INIT, State.BACKUP, acts[0].reason)]
    assert mach.state == State.BACKUP
    assert mach.next_deadline == T0 + 3 + 156 / 256
    assert mach.start(T0 + 1) == []                    # only once
    assert mach.on_timer(T0 + 3.6) == []               # not yet due
    acts = mach.on_timer(T0 + 3 + 156 / 256)
    assert acts[:3] == MASTER_ACTIONS                   # AddVips, SendAdvert, SendGarp in that order
    assert only_transition(acts).new == State.MASTER and acts[-1].old == State.BACKUP
    assert mach.next_deadline == T0 + 4 + 156 / 256
    assert mach.master_ip == A


def test_state_master_non_owner_still_starts_in_backup_like_keepalived():
    # keepalived 2.2.7 with `state MASTER` and priority < 255 waits the full Master_Down_Interval
    # (checked in tests/unit/fixtures/vrrp/keepalived-capture.log: v3 0.5 s instance master ~2 s after start)
    mach = mk(150, start_state=State.MASTER, preempt=False, preempt_delay=30)
    acts = mach.start(T0)
    assert [a.new for a in acts] == [State.BACKUP]
    assert mach.next_deadline == T0 + 3 + 106 / 256
    # and, as keepalived's config check does, `state MASTER` clears nopreempt and preempt_delay
    assert mach.preempt is True and mach.preempt_delay == 0.0


def test_owner_becomes_master_at_once():
    for start_state in (State.BACKUP, State.MASTER):
        mach = mk(255, start_state=start_state, preempt=False)
        acts = mach.start(T0)
        assert acts[:3] == [AddVips(), SendAdvert(255), SendGarp()]
        assert only_transition(acts) == Transition(State.INIT, State.MASTER, acts[-1].reason)
        assert mach.next_deadline == T0 + 1.0
        assert mach.preempt is True                    # nopreempt is meaningless for the owner


def test_master_sends_advert_every_interval():
    mach = master(100, advert_int=2.0)
    assert mach.on_timer(T0 + 1.9) == []
    assert mach.on_timer(T0 + 2.0) == [SendAdvert(100)]
    assert mach.next_deadline == T0 + 4.0
    assert mach.on_timer(T0 + 4.5) == [SendAdvert(100)]   # late wake-up: the next one keeps the phase
    assert mach.next_deadline == T0 + 6.0
    assert mach.on_timer(T0 + 8.5) == [SendAdvert(100)]   # a stall of an interval or more: one interval after now
    assert mach.next_deadline == T0 + 10.5


# --- backup receive rules ------------------------------------------------------------------------------

def test_backup_higher_advert_resets_master_down_timer():
    mach = started(100)
    assert mach.on_advert(T0 + 2, B, 200, 100) == []
    assert mach.next_deadline == T0 + 2 + 3 + 156 / 256
    assert (mach.master_ip, mach.master_priority) == (B, 200)
    assert mach.on_timer(T0 + 3 + 156 / 256) == []        # the old deadline is gone
    assert mach.state == State.BACKUP


def test_backup_equal_priority_is_accepted_even_from_lower_address():
    mach = started(100, ip=B)
    mach.on_advert(T0 + 1, A, 100, 100)
    assert mach.next_deadline == T0 + 1 + 3 + 156 / 256


def test_backup_priority_zero_waits_only_skew_time():
    mach = started(100)
    mach.on_advert(T0 + 1, B, 200, 100)
    assert mach.on_advert(T0 + 2, B, 0, 100) == []
    assert mach.next_deadline == T0 + 2 + 156 / 256
    acts = mach.on_timer(T0 + 2 + 156 / 256)
    # the resigning master keeps its VIPs until our advert: GARP first, so no client packet falls between
    assert acts[:3] == [AddVips(), SendGarp(), SendAdvert(100)] and "priority 0" in acts[-1].reason


def test_backup_preempts_lower_priority_master_by_ignoring_its_adverts():
    mach = started(150)
    mach.on_advert(T0 + 1, B, 200, 100)                 # accepted: deadline 1 + MDI(150)
    deadline = T0 + 1 + 3 + 106 / 256
    assert mach.next_deadline == deadline
    for t in (2, 3, 4):                                  # master B dropped to 100: adverts ignored
        assert mach.on_advert(T0 + t, B, 100, 100) == []
        assert mach.next_deadline == deadline
    acts = mach.on_timer(deadline)
    # the lower master is alive and drops its VIPs on our advert: clients are pointed here first (GARP first)
    assert acts[:3] == [AddVips(), SendGarp(), SendAdvert(150)]
    assert "preempting lower priority (100) master " + B in acts[-1].reason


def test_backup_started_after_lower_master_preempts_after_master_down_interval():
    mach = started(150)
    for t in (0.5, 1.5, 2.5, 3.4):
        mach.on_advert(T0 + t, B, 100, 100)
    assert mach.next_deadline == T0 + 3 + 106 / 256
    assert mach.on_timer(T0 + 3 + 106 / 256)[-1].new == State.MASTER


def test_nopreempt_never_preempts_but_takes_over_when_master_dies():
    mach = started(150, preempt=False)
    for t in range(1, 30):
        assert mach.on_advert(T0 + t, B, 100, 100) == []
        assert mach.on_timer(T0 + t + 0.5) == []
        assert mach.next_deadline == T0 + t + 3 + 106 / 256
    assert mach.state == State.BACKUP
    acts = mach.on_timer(T0 + 29 + 3 + 106 / 256)       # B went silent
    assert acts[-1].new == State.MASTER


def test_preempt_delay_counts_from_first_lower_advert_as_keepalived():
    mach = started(150, preempt_delay=10.0)
    mdi = 3 + 106 / 256
    # no master at all: preempt_delay plays no part, the timer just runs out
    assert mach.preempt_deadline is None
    mach.on_advert(T0 + 1, B, 100, 100)                  # first lower advert: start the delay
    assert mach.preempt_deadline == T0 + 11
    for t in range(2, 11):                                # delay running: adverts accepted
        mach.on_advert(T0 + t, B, 100, 100)
        assert mach.next_deadline == T0 + t + mdi
        assert mach.preempt_deadline == T0 + 11        # not restarted by later lower adverts
    mach.on_advert(T0 + 11, B, 100, 100)                 # preempt_time == now is not "> now": ignored
    assert mach.next_deadline == T0 + 10 + mdi
    mach.on_advert(T0 + 12, B, 100, 100)
    acts = mach.on_timer(T0 + 10 + mdi)
    assert acts[-1].new == State.MASTER and "preempting" in acts[-1].reason


def test_preempt_delay_cancelled_by_higher_advert_and_restarted_later():
    mach = started(150, preempt_delay=10.0)
    mach.on_advert(T0 + 1, B, 100, 100)
    assert mach.preempt_deadline == T0 + 11
    mach.on_advert(T0 + 2, C, 200, 100)                  # a higher master appears: delay stops
    assert mach.preempt_deadline is None
    mach.on_advert(T0 + 20, B, 100, 100)                 # later a lower one: a fresh delay
    assert mach.preempt_deadline == T0 + 30


def test_v3_backup_adopts_master_interval():
    mach = started(100, version=3, advert_int=1.0)
    mach.on_advert(T0 + 1, B, 200, 50)
    assert mach.advert_int == 0.5
    mdi = 1.5 + 156 * 50 / 256 / 100
    assert mach.master_down_interval == approx(mdi)
    assert mach.next_deadline == approx(T0 + 1 + mdi)
    # when it becomes master it advertises its own configured interval again
    acts = mach.on_timer(mach.next_deadline)
    assert acts[-1].new == State.MASTER
    assert mach.advert_int == 1.0 and mach.next_deadline == approx(T0 + 1 + mdi + 1.0)


def test_v2_backup_does_not_adopt_interval():
    mach = started(100, version=2)
    mach.on_advert(T0 + 1, B, 200, 300)
    assert mach.advert_int == 1.0 and mach.next_deadline == T0 + 1 + 3 + 156 / 256


def test_v3_priority_zero_and_ignored_adverts_do_not_adopt_interval():
    mach = started(150, version=3)
    mach.on_advert(T0 + 1, B, 0, 50)
    mach.on_advert(T0 + 1.1, B, 100, 50)
    assert mach.advert_int == 1.0


# --- master receive rules ------------------------------------------------------------------------------

def test_master_higher_priority_goes_backup_and_releases_vips():
    mach = master(100)
    acts = mach.on_advert(T0 + 0.5, B, 200, 100)
    assert acts == [RemoveVips(), Transition(State.MASTER, State.BACKUP, acts[-1].reason)]
    assert "higher priority (200 > 100)" in acts[-1].reason
    assert mach.next_deadline == T0 + 0.5 + 3 + 156 / 256
    assert (mach.master_ip, mach.master_priority) == (B, 200)


def test_master_equal_priority_tie_break_on_primary_address_as_integers():
    # as strings "198.51.100.9" > "198.51.100.10"; as integers .10 is higher
    low, high = "198.51.100.9", "198.51.100.10"
    mach = master(100, ip=low)
    acts = mach.on_advert(T0 + 0.5, high, 100, 100)
    assert acts[0] == RemoveVips() and acts[-1].new == State.BACKUP
    assert "equal priority" in acts[-1].reason
    mach = master(100, ip=high)
    assert mach.on_advert(T0 + 0.5, low, 100, 100) == [SendAdvert(100), SendGarp("lower_prio")]
    assert mach.state == State.MASTER


def test_a_renumbered_master_breaks_ties_with_its_new_address():
    """The interface renumbered under a running instance (daemon.InstanceRuntime.check_source): its adverts and the
    equal-priority tie-break (RFC 5798 6.4.3) use the new address."""
    mach = master(100, ip="198.51.100.10")
    mach.set_primary("198.51.100.30")
    assert mach.master_ip == "198.51.100.30" and mach.params.primary_ip == "198.51.100.30"
    assert mach.on_advert(T0 + 0.5, "198.51.100.20", 100, 100) == [SendAdvert(100), SendGarp("lower_prio")]
    mach.set_primary("198.51.100.5")
    acts = mach.on_advert(T0 + 0.6, "198.51.100.20", 100, 100)
    assert acts[-1].new == State.BACKUP and "equal priority" in acts[-1].reason


def test_master_answers_lower_priority_advert_at_once_and_adopts_nothing():
    for version in (2, 3):
        mach = master(200, version=version)
        assert mach.on_advert(T0 + 0.3, B, 100, 50) == [SendAdvert(200), SendGarp("lower_prio")]  # keepalived's defaults
        assert mach.state == State.MASTER and mach.advert_int == 1.0
        assert mach.master_ip == A
        assert mach.next_deadline == T0 + 1.3          # the answer restarts the advert timer


def test_master_lower_prio_no_advert_option():
    mach = master(200, lower_prio_advert=False)
    assert mach.on_advert(T0 + 0.3, B, 100, 100) == [SendGarp("lower_prio")]
    assert mach.next_deadline == T0 + 1.0


def test_master_receiving_priority_zero_sends_advert_at_once():
    mach = master(100)
    assert mach.on_advert(T0 + 0.25, B, 0, 100) == [SendAdvert(100)]
    assert mach.state == State.MASTER and mach.next_deadline == T0 + 1.25


def test_master_ignores_its_own_looped_advert():
    mach = master(100)
    assert mach.on_advert(T0 + 0.5, A, 100, 100) == []
    assert mach.state == State.MASTER


def test_v3_master_adopts_interval_when_it_loses():
    mach = master(100, version=3)
    mach.on_advert(T0 + 0.5, B, 200, 20)
    assert mach.advert_int == 0.2
    assert mach.next_deadline == approx(T0 + 0.5 + 0.6 + 156 * 20 / 256 / 100)


def test_two_owners_keepalived_lowers_its_own_priority():
    mach = started(255)
    acts = mach.on_advert(T0 + 0.5, B, 255, 100)
    assert acts[-1].new == State.BACKUP
    assert mach.effective_priority == 254


# --- tracking ------------------------------------------------------------------------------------------

def test_set_priority_moves_backup_deadline_by_skew_change():
    mach = started(100)
    mach.on_advert(T0 + 1, B, 200, 100)
    assert mach.set_priority(T0 + 2, 50) == []
    assert mach.effective_priority == 50
    assert mach.next_deadline == T0 + 1 + 3 + 206 / 256
    assert mach.master_down_interval == 3 + 206 / 256


def test_set_priority_clamped_and_owner_untouched():
    mach = started(100)
    mach.set_priority(T0, -20)
    assert mach.effective_priority == 1
    mach.set_priority(T0, 300)
    assert mach.effective_priority == 254
    owner = started(255)
    assert owner.set_priority(T0, 100) == [] and owner.effective_priority == 255


def test_master_priority_change_sends_nothing_itself_as_keepalived():
    mach = master(150)
    assert mach.set_priority(T0 + 0.1, 50) == []
    assert mach.on_timer(T0 + 1) == [SendAdvert(50)]


# --- fault ---------------------------------------------------------------------------------------------

def test_fault_from_master_resigns_and_releases():
    mach = master(100)
    acts = mach.fault(T0 + 0.5, "track_interface eth1 down")
    assert acts == [SendAdvert(0), RemoveVips(), Transition(State.MASTER, State.FAULT, "track_interface eth1 down")]
    assert mach.next_deadline is None
    assert mach.on_advert(T0 + 1, B, 50, 100) == [] and mach.on_timer(T0 + 100) == []
    assert mach.fault(T0 + 2, "again") == []


def test_fault_from_backup_and_recover_to_backup():
    mach = started(100, version=3)
    mach.on_advert(T0 + 1, B, 200, 50)
    assert mach.fault(T0 + 2, "script chk down") == [Transition(State.BACKUP, State.FAULT, "script chk down")]
    acts = mach.recover(T0 + 5)
    assert acts == [Transition(State.FAULT, State.BACKUP, acts[0].reason)]
    assert mach.advert_int == 1.0                      # the adopted interval is forgotten
    assert mach.next_deadline == T0 + 5 + 3 + 156 / 256
    assert mach.recover(T0 + 6) == []


def test_fault_before_start_and_owner_recovers_to_master():
    mach = mk(255)
    assert mach.fault(T0, "link down")[-1] == Transition(State.INIT, State.FAULT, "link down")
    acts = mach.recover(T0 + 1)
    assert acts[:3] == [AddVips(), SendAdvert(255), SendGarp()] and acts[-1].new == State.MASTER


# --- resign (make-before-break) ------------------------------------------------------------------------

def test_resign_keeps_vips_until_new_master_speaks():
    mach = master(100)
    assert mach.resign(T0 + 0.5) == [SendAdvert(0)]
    assert mach.state == State.MASTER and mach.resigning
    assert mach.next_deadline == T0 + 0.5 + 3 + 156 / 256
    assert mach.on_timer(T0 + 1.0) == []                 # no more regular adverts
    assert mach.on_advert(T0 + 0.6, B, 0, 100) == []     # priority 0 is not a new master
    assert mach.resign(T0 + 0.7) == []
    acts = mach.on_advert(T0 + 0.5 + 156 / 256, B, 100, 100)
    assert acts == [RemoveVips(), Transition(State.MASTER, State.STOPPED, acts[-1].reason)]
    assert "new master " + B in acts[-1].reason
    assert mach.next_deadline is None


def test_resign_bounded_by_master_down_interval():
    mach = master(100)
    mach.resign(T0)
    assert mach.on_timer(T0 + 3.6) == []
    acts = mach.on_timer(T0 + 3 + 156 / 256)
    assert acts == [RemoveVips(), Transition(State.MASTER, State.STOPPED, acts[-1].reason)]


def test_resign_when_not_master_just_stops():
    mach = started(100)
    assert mach.resign(T0 + 1) == [Transition(State.BACKUP, State.STOPPED, "stopped")]
    assert mach.next_deadline is None and mach.resign(T0 + 2) == []
    assert mach.on_advert(T0 + 3, B, 200, 100) == []


def test_state_is_a_string_enum():
    assert State.MASTER == "MASTER" and str(State.FAULT) == "FAULT"
    assert m.PRIO_OWNER == 255


# --- several machines on a simulated LAN (instant delivery, injected clock) ---------------------------

class Lan:
    """Delivers each SendAdvert to every other live machine; tracks who holds the VIPs."""

    def __init__(self, **machines):
        self.machines = {mach.params.primary_ip: mach for mach in machines.values()}
        self.alive = set(self.machines)
        self.vips = set()
        self.now = T0
        self.history = []

    def apply(self, ip, actions, depth=0):
        assert depth < 10, "advert storm"
        for act in actions:
            if isinstance(act, AddVips):
                self.vips.add(ip)
            elif isinstance(act, RemoveVips):
                self.vips.discard(ip)
            elif isinstance(act, Transition):
                self.history.append((round(self.now - T0, 6), ip, act.new))
            elif isinstance(act, SendAdvert):
                cs = int(round(self.machines[ip].params.advert_int * 100))
                for other_ip in sorted(self.alive - {ip}):
                    self.apply(other_ip, self.machines[other_ip].on_advert(self.now, ip, act.priority, cs), depth + 1)

    def start(self):
        for ip in sorted(self.machines):
            self.apply(ip, self.machines[ip].start(self.now))

    def run_until(self, until):
        for _step in range(100000):
            due = [(mach.next_deadline, ip) for ip, mach in self.machines.items()
                   if ip in self.alive and mach.next_deadline is not None]
            if not due or min(due)[0] > until:
                break
            self.now, ip = min(due)
            self.apply(ip, self.machines[ip].on_timer(self.now))
        self.now = until

    def do(self, ip, method, *args):
        self.apply(ip, getattr(self.machines[ip], method)(self.now, *args))

    def masters(self):
        return sorted(ip for ip in self.alive if self.machines[ip].state == State.MASTER)


def test_lan_election_failover_failback():
    lan = Lan(a=mk(200, ip=A), b=mk(100, ip=B))
    lan.start()
    lan.run_until(T0 + 10)
    # A's MDI (3 + 56/256) runs out first; B hears A and stays backup
    assert lan.history == [(0.0, A, State.BACKUP), (0.0, B, State.BACKUP), (3 + 56 / 256, A, State.MASTER)]
    assert lan.masters() == [A] and lan.vips == {A}
    # hard failure of A at t=10: B takes over one MDI(100) after A's last advert (t=10)
    lan.alive.discard(A)
    lan.vips.discard(A)
    lan.run_until(T0 + 20)
    last_advert = 3 + 56 / 256 + 6                       # A adverts every second from t=3.21875
    assert lan.history[-1] == (round(last_advert + 3 + 156 / 256, 6), B, State.MASTER)
    # A returns, starts in backup, ignores B (lower) and preempts after its MDI
    lan.alive.add(A)
    lan.machines[A] = mk(200, ip=A)
    lan.apply(A, lan.machines[A].start(lan.now))
    lan.run_until(T0 + 30)
    # B hears A's first advert (sent before A's Transition is recorded) and steps down at once
    assert lan.history[-2:] == [(round(20 + 3 + 56 / 256, 6), B, State.BACKUP),
                                (round(20 + 3 + 56 / 256, 6), A, State.MASTER)]
    assert lan.masters() == [A] and lan.vips == {A}
    assert lan.machines[B].state == State.BACKUP


def test_lan_graceful_resign_is_make_before_break():
    lan = Lan(a=mk(200, ip=A), b=mk(100, ip=B))
    lan.start()
    lan.run_until(T0 + 10)
    lan.do(A, "resign")
    assert lan.vips == {A}                               # still answering for the VIP
    lan.run_until(T0 + 10 + 156 / 256)                   # B waits Skew_Time only
    assert lan.machines[B].state == State.MASTER
    assert lan.machines[A].state == State.STOPPED
    assert lan.vips == {B}


def test_lan_tracking_drop_hands_over_to_backup():
    lan = Lan(a=mk(200, ip=A), b=mk(150, ip=B))
    lan.start()
    lan.run_until(T0 + 10)
    last_advert = T0 + 3 + 56 / 256 + 6                  # A adverts every second from t=3.21875
    lan.do(A, "set_priority", 100)
    lan.run_until(T0 + 20)
    assert lan.masters() == [B] and lan.vips == {B}
    takeover = [t for t, ip, state in lan.history if ip == B and state == State.MASTER][0]
    assert takeover == round(last_advert - T0 + 3 + 106 / 256, 6)
    # B's first advert (150 > 100) sent A back to backup, releasing its VIPs
    assert lan.machines[A].state == State.BACKUP


def test_lan_v3_mixed_intervals_single_master():
    lan = Lan(a=mk(200, ip=A, version=3, advert_int=0.1), b=mk(100, ip=B, version=3, advert_int=1.0))
    lan.start()
    lan.run_until(T0 + 5)
    assert lan.masters() == [A]
    assert lan.machines[B].advert_int == 0.1            # B follows the master's interval
    lan.alive.discard(A)
    last_advert = lan.machines[A].next_deadline - 0.1
    lan.run_until(T0 + 6)
    assert lan.masters() == [B]
    # B's Master_Down_Interval with the adopted 10 cs: 0.3 + 156*10/256 cs
    takeover = T0 + lan.history[-1][0]
    assert takeover == pytest.approx(last_advert + 0.3 + 0.0609375, abs=1e-5)
    assert lan.machines[B].advert_int == 1.0            # as master, its own interval again


# --- sync groups (keepalived vrrp_sync_backup / vrrp_sync_master) ------------------------------------

def test_sync_backup_takes_a_master_to_backup_with_a_fresh_master_down_timer():
    mach = master(100)
    acts = mach.sync_backup(T0 + 0.4, "sync group G: VI_2 MASTER -> BACKUP")
    assert acts[:-1] == [RemoveVips()]
    t = only_transition(acts)
    assert (t.old, t.new, t.reason) == (State.MASTER, State.BACKUP, "sync group G: VI_2 MASTER -> BACKUP")
    assert mach.state == State.BACKUP
    assert mach.next_deadline == approx(T0 + 0.4 + 3 + 156 / 256)
    # no advert from anyone: it takes over again after Master_Down_Interval, as keepalived does
    assert mach.on_timer(T0 + 0.4 + 3 + 156 / 256 - 1e-6) == []
    assert mach.on_timer(T0 + 0.4 + 3 + 156 / 256)[:3] == MASTER_ACTIONS


@pytest.mark.parametrize("prepare", ["backup", "fault", "resigning", "stopped"])
def test_sync_backup_leaves_non_masters_and_a_resigning_master_alone(prepare):
    if prepare == "backup":
        mach = started(100)
    elif prepare == "fault":
        mach = started(100)
        mach.fault(T0, "tracking")
    elif prepare == "resigning":
        mach = master(100)
        mach.resign(T0)
    else:
        mach = started(100)
        mach.resign(T0)
    state, deadline, resigning = mach.state, mach.next_deadline, mach.resigning
    assert mach.sync_backup(T0 + 0.5, "sync") == []
    assert (mach.state, mach.next_deadline, mach.resigning) == (state, deadline, resigning)


# --- a master whose VIP, route or rule was deleted (keepalived set_vrrp_backup) ---------------------

@pytest.mark.parametrize("version, advert_int, skew", [(2, 1.0, 156 / 256), (3, 0.2, 156 * 0.2 / 256)])
def test_step_back_sends_priority_zero_and_takes_over_again_after_its_skew_time(version, advert_int, skew):
    mach = master(100, version=version, advert_int=advert_int)
    acts = mach.step_back(T0 + 0.4, "VIP 198.51.100.100/24 deleted")
    assert acts[:-1] == [SendAdvert(0), RemoveVips()]          # priority 0 first, as keepalived's leave_master(advF)
    t = only_transition(acts)
    assert (t.old, t.new, t.reason) == (State.MASTER, State.BACKUP, "VIP 198.51.100.100/24 deleted")
    assert mach.next_deadline == approx(T0 + 0.4 + skew)    # not Master_Down_Interval
    assert mach.on_timer(T0 + 0.4 + skew - 1e-6) == []
    acts = mach.on_timer(T0 + 0.4 + skew)
    assert mach.state == State.MASTER
    assert only_transition(acts).reason == "no advert within Skew_Time after VIP 198.51.100.100/24 deleted"


def test_a_backup_that_heard_the_priority_zero_times_out_after_the_one_that_stepped_back():
    high, low = master(150, ip=A), started(100, ip=B)
    low.on_advert(T0 + 0.9, A, 150, 100)
    high.step_back(T0 + 1.0, "VIP deleted")
    low.on_advert(T0 + 1.0, A, 0, 100)                     # the priority 0 on the wire
    assert high.next_deadline < low.next_deadline           # Skew_Time of 150 < Skew_Time of 100
    assert high.on_timer(high.next_deadline)[:3] == [AddVips(), SendAdvert(150), SendGarp()]
    low.on_advert(high.next_deadline, A, 150, 100)          # its advert: the backup follows it again
    assert low.state == State.BACKUP and low.next_deadline > high.next_deadline


@pytest.mark.parametrize("prepare", ["backup", "fault", "resigning", "stopped"])
def test_step_back_leaves_non_masters_and_a_resigning_master_alone(prepare):
    mach = master(100) if prepare == "resigning" else started(100)
    if prepare == "fault":
        mach.fault(T0, "tracking")
    elif prepare in ("resigning", "stopped"):
        mach.resign(T0)
    state, deadline, resigning = mach.state, mach.next_deadline, mach.resigning
    assert mach.step_back(T0 + 0.5, "VIP deleted") == []
    assert (mach.state, mach.next_deadline, mach.resigning) == (state, deadline, resigning)


def test_sync_master_takes_a_backup_to_master_at_once():
    mach = started(100)
    mach.on_advert(T0 + 1, B, 200, 100)                  # a master is alive: B
    acts = mach.sync_master(T0 + 1.25, "sync group G: VI_2 BACKUP -> MASTER")
    assert acts[:-1] == MASTER_ACTIONS
    t = only_transition(acts)
    assert (t.old, t.new) == (State.BACKUP, State.MASTER)
    assert mach.master_ip == A and mach.next_deadline == approx(T0 + 1.25 + 1.0)
    assert mach.on_timer(T0 + 2.25) == [SendAdvert(100)]


@pytest.mark.parametrize("prepare", ["master", "fault", "stopped", "init"])
def test_sync_master_only_moves_a_backup(prepare):
    if prepare == "master":
        mach = master(100)
    elif prepare == "fault":
        mach = started(100)
        mach.fault(T0, "tracking")
    elif prepare == "stopped":
        mach = started(100)
        mach.resign(T0)
    else:
        mach = mk(100)
    state, deadline = mach.state, mach.next_deadline
    assert mach.sync_master(T0 + 0.5, "sync") == []
    assert (mach.state, mach.next_deadline) == (state, deadline)


# --- advance_advert: the daemon batches masters' timers (never later, only a master that is not resigning) ---

def test_advance_advert_moves_a_masters_next_advert_earlier_only():
    mach = master(100)                                   # next advert at T0 + 1
    assert mach.advance_advert(T0 + 0.2, T0 + 0.6) == []
    assert mach.next_deadline == approx(T0 + 0.6)
    mach.advance_advert(T0 + 0.2, T0 + 0.9)              # later than the current deadline: ignored
    assert mach.next_deadline == approx(T0 + 0.6)
    mach.advance_advert(T0 + 0.7, T0 + 0.65)             # in the past: ignored
    assert mach.next_deadline == approx(T0 + 0.6)
    assert mach.on_timer(T0 + 0.6) == [SendAdvert(100)]
    assert mach.next_deadline == approx(T0 + 1.6)        # the interval runs from the advert sent early


@pytest.mark.parametrize("prepare", ["backup", "resigning", "fault"])
def test_advance_advert_never_moves_a_backup_or_a_resigning_master(prepare):
    if prepare == "backup":
        mach = started(100)
    elif prepare == "resigning":
        mach = master(100)
        mach.resign(T0)
    else:
        mach = started(100)
        mach.fault(T0, "tracking")
    deadline = mach.next_deadline
    mach.advance_advert(T0 + 0.1, T0 + 0.2)
    assert mach.next_deadline == deadline
