# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 11 (idle CPU of a backup): a channel whose instances are all backups is read when a deadline is due.

- bell.py: the doorbell's BPF program rings exactly for priority 0, and for the channel's VRIDs unless the advert
  is the one the backup counts with (property, against a plain reading of the rule; tests/integration checks the
  kernel runs it the same way).
- netio's timed read: arrival times from the kernel's stamps, distrusted after a wall clock step or when older than
  the last read, runs of a repeat handed over once, in order with everything else.
- The daemon reading when due leaves every machine exactly as reading each advert on arrival does: the same
  transitions at the same times, for random schedules of adverts, silences, priority 0, lower and higher
  priorities and interval changes (property).
"""
from __future__ import annotations

import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ansible_collections.floating.vip.plugins.module_utils.vrrp import bell, machine, netio, packet, reading
from tests.unit.vrrp.test_scale import FakeLoop, RealChannel, _conf, fake, started_daemon  # noqa: F401 pylint: disable=unused-import

MASTER_IP, GROUP = "198.51.100.12", "224.0.0.18"
OFFSET = 1000.0  # the wall clock, ahead of the loop's


# ---- bell.py ---------------------------------------------------------------------------------------------
def _datagram4(version, vrid, priority, low, options=0):
    vrrp = bytes([(version << 4) | 1, vrid, priority, 1]) + struct.pack("!H", low) + b"\0\0" + bytes(4)
    return bytes([0x45 + options, 0, 0, 0, 0, 0, 0, 0, 255, 112, 0, 0]) + bytes(8) + bytes(4 * options) + vrrp


def _expected(datagram, family, keys, vrids):
    at = (datagram[0] & 0x0F) * 4 if family == 4 else 0
    vrid, priority, low = datagram[at + 1], datagram[at + 2], struct.unpack("!H", datagram[at + 4:at + 6])[0]
    if priority == 0:
        return True
    return vrid in vrids and (vrid << 16 | low) not in keys


@settings(max_examples=300, deadline=None)
@given(family=st.sampled_from([4, 6]), options=st.integers(0, 10), version=st.sampled_from([2, 3]),
       vrid=st.integers(1, 255), priority=st.integers(0, 255), low=st.integers(0, 0xFFFF),
       ours=st.dictionaries(st.integers(1, 255), st.one_of(st.none(), st.integers(0, 0xFFFF)), max_size=30))
def test_the_doorbell_rings_for_priority_zero_and_for_an_advert_other_than_the_one_counted_with(
        family, options, version, vrid, priority, low, ours):
    keys = [v << 16 | k for v, k in ours.items() if k is not None]
    if ours and vrid in ours and ours[vrid] is not None and priority % 3 == 0:
        low = ours[vrid]  # often the very advert counted with
    datagram = _datagram4(version, vrid, priority, low, options)
    if family == 6:
        datagram = datagram[(datagram[0] & 0x0F) * 4:]
    rang = bell.run(bell.program(family, keys, list(ours)), datagram, family) == bell.RING
    assert rang == _expected(datagram, family, keys, list(ours))


def test_the_doorbell_program_keeps_its_jumps_in_range_for_every_vrid():
    vrids = list(range(1, 256))
    keys = [bell.key(v, 3, 100) for v in vrids]
    insns = bell.program(4, keys, vrids)
    assert all(0 <= jt <= 255 and 0 <= jf <= 255 for _code, jt, jf, _k in insns)
    for v in (1, 128, 255):
        assert bell.run(insns, _datagram4(3, v, 100, 100), 4) == bell.QUIET  # the key: quiet
        assert bell.run(insns, _datagram4(3, v, 100, 50), 4) == bell.RING  # another interval
        assert bell.run(insns, _datagram4(3, v, 0, 100), 4) == bell.RING  # priority 0
    with pytest.raises(ValueError):
        bell.program(4, keys + [0], vrids)  # 256 keys cannot be jumped over


def test_a_short_datagram_never_rings():
    insns = bell.program(4, [], [7])
    assert bell.run(insns, _datagram4(3, 7, 100, 100)[:23], 4) == bell.QUIET


# ---- netio's timed read ----------------------------------------------------------------------------------
class TimedSock:
    """A data socket: (datagram, wall stamp or None) queued by the test; recvmsg gives SO_TIMESTAMPNS."""

    def __init__(self):
        self.queue = []
        self.insns = None
        self.dropped = 0

    def recvmsg(self, size, _ancsize):
        if not self.queue:
            raise BlockingIOError(11, "EAGAIN")
        data, stamp = self.queue.pop(0)[:2]
        anc = [] if stamp is None else [(socket.SOL_SOCKET, netio.SO_TIMESTAMPNS,
                                         struct.pack("=qq", int(stamp), int(round((stamp % 1) * 1e9))))]
        if self.dropped:  # the kernel's count of datagrams dropped for a full buffer, with every datagram
            anc.append((socket.SOL_SOCKET, netio.SO_RXQ_OVFL, struct.pack("=I", self.dropped)))
        return data[:size], anc, 0, (MASTER_IP, 0)

    def recv(self, size):
        if not self.queue:
            raise BlockingIOError(11, "EAGAIN")
        return self.queue.pop(0)[0][:size]

    def setsockopt(self, *_a):
        pass

    def getsockopt(self, _level, option, size=None):
        if option == netio.SO_MEMINFO:  # the kernel's drop count is the ninth u32
            return struct.pack("=9I", *([0] * 8 + [self.dropped]))[:size]
        return 4 << 20  # SO_RCVBUF

    def sendto(self, frame, _address):
        return len(frame)

    def fileno(self):
        return 3

    def close(self):
        pass


class BellSock(TimedSock):
    def fileno(self):
        return 4


def _frame(vrid, priority=150, interval_cs=50, ident=0):
    advert = packet.Advert(version=3, vrid=vrid, priority=priority, interval_cs=interval_cs, addresses=("203.0.113.%d" % vrid,))
    return packet.build_ipv4(packet.encode(advert, MASTER_IP, GROUP), MASTER_IP, GROUP, ident=ident)


def _timed_channel(monkeypatch, data=None, ring=None):
    data, ring = data or TimedSock(), ring or BellSock()
    monkeypatch.setattr(RealChannel, "_open", lambda self: data)
    monkeypatch.setattr(RealChannel, "_open_bell", lambda self: ring)
    monkeypatch.setattr(bell, "attach", lambda sock, insns: setattr(sock, "insns", insns))
    monkeypatch.setattr(netio.addresses, "link_index", lambda ifname: 2)
    return RealChannel("eth0", 4), data, ring


def test_arrival_times_come_from_the_stamps_unless_the_wall_clock_stepped(monkeypatch):
    wall = {"t": 100.0 + OFFSET}
    monkeypatch.setattr(netio, "_wall", lambda: wall["t"])
    channel, data, _ring = _timed_channel(monkeypatch)
    seen = []

    def dispatch(item):
        seen.append(round(channel.arrival, 6))
    channel.receive(100.0, dispatch)  # the first read: no offset to compare with yet
    data.queue = [(_frame(1, ident=1), 100.2 + OFFSET), (_frame(2, ident=2), 100.3 + OFFSET)]
    wall["t"] = 100.5 + OFFSET
    channel.receive(100.5, dispatch)
    assert seen == [100.2, 100.3]
    data.queue = [(_frame(1, ident=3), 100.6 + OFFSET), (_frame(1, ident=4), None), (_frame(1, ident=5), 99.0 + OFFSET)]
    wall["t"] = 100.9 + OFFSET
    channel.receive(100.9, dispatch)
    # no stamp, or one before the last read ended: "now", later than it came, never earlier
    assert seen[2:] == [100.6, 100.9, 100.9]
    data.queue = [(_frame(1, ident=6), 101.0 + OFFSET)]
    wall["t"] = 101.2 + OFFSET + 5.0  # the wall clock stepped 5 s
    channel.receive(101.2, dispatch)
    assert seen[5:] == [101.2]


def test_a_queue_longer_than_one_read_keeps_every_arrival_time(monkeypatch):
    """A drain reads at most MAX_READS_PER_WAKEUP datagrams per receive(): those left for the next one arrived
    before it began and keep their stamps (they once became "now", 2.3 s late for half of 200 instances)."""
    wall = {"t": 300.0 + OFFSET}
    monkeypatch.setattr(netio, "_wall", lambda: wall["t"])
    channel, data, _ring = _timed_channel(monkeypatch)
    channel.receive(300.0, lambda item: None)
    total = netio.MAX_READS_PER_WAKEUP * 2 + 10
    data.queue = [(_frame(1 + i % 200, ident=i), 300.0 + OFFSET + i * 0.001) for i in range(total)]
    seen = []
    for step in range(3):
        wall["t"] = 302.0 + step * 0.01 + OFFSET
        channel.receive(302.0 + step * 0.01, lambda item: seen.append(channel.arrival))
    assert len(seen) == total
    assert all(abs(at - (300.0 + i * 0.001)) < 1e-6 for i, at in enumerate(seen))


def test_a_run_of_a_repeat_is_handed_over_once_and_in_order_with_the_rest(monkeypatch):
    wall = {"t": 199.0 + OFFSET}
    monkeypatch.setattr(netio, "_wall", lambda: wall["t"])
    channel, data, _ring = _timed_channel(monkeypatch)
    channel.receive(199.0, lambda item: None)
    wall["t"] = 200.0 + OFFSET
    log = []
    a, b = _frame(1, ident=1), _frame(2, ident=2)
    first = channel._decode4(a)  # pylint: disable=protected-access
    first.repeat = lambda count: log.append(("a", count, round(channel.arrival, 6))) or True
    second = channel._decode4(b)  # pylint: disable=protected-access
    second.repeat = lambda count: False  # refused: each copy goes to dispatch
    other = _frame(3, priority=0)
    stamps = iter(199.1 + 0.01 * i + OFFSET for i in range(20))
    data.queue = [(a, next(stamps)), (a, next(stamps)), (b, next(stamps)), (a, next(stamps)), (other, next(stamps)),
                  (a, next(stamps)), (b, next(stamps))]

    def dispatch(item):
        log.append((item.received.advert.vrid, round(channel.arrival, 6)))
    channel.receive(200.0, dispatch)
    assert log == [("a", 3, 199.13), (2, 199.12),  # before the other advert: a's run of 3, then b's copy
                   (3, 199.14),
                   ("a", 1, 199.15), (2, 199.16)]
    assert channel.reads == 7


def _primed(channel, frames, log):
    """Decode each frame once and give it a repeat callback that logs (vrid, copies, arrival) and takes the run."""
    for frame in frames:
        item = channel._decode4(frame)  # pylint: disable=protected-access
        vrid = item.received.advert.vrid
        item.repeat = lambda count, vrid=vrid: log.append((vrid, count, round(channel.arrival, 6))) or True


def test_a_drain_hands_each_run_over_once_across_its_reads(monkeypatch):
    """A drain reads at most MAX_READS_PER_WAKEUP datagrams at a time; the runs it holds span those reads, so each
    instance hears its run once, with every copy counted and the last copy's arrival (issue 11, twelfth round:
    200 instances' 600 adverts once came in about 490 runs). Each read dates its own datagrams."""
    wall = {"t": 400.0 + OFFSET}
    monkeypatch.setattr(netio, "_wall", lambda: wall["t"])
    channel, data, _ring = _timed_channel(monkeypatch)
    channel.receive(400.0, lambda item: None)
    frames = [_frame(v) for v in range(1, 201)]
    log = []
    _primed(channel, frames, log)
    rounds = 3  # a master's 200 adverts, three times over: 600 datagrams, more than two reads
    data.queue = [(frames[v], 400.1 + r * 0.1 + v * 1e-4 + OFFSET) for r in range(rounds) for v in range(200)]
    times = iter([400.5, 400.51, 400.52, 400.53])

    def clock():  # each read at a later time, the wall clock moving with it
        now = next(times)
        wall["t"] = now + OFFSET
        return now

    def dispatch(item):
        raise AssertionError("a repeat taken by its callback reached dispatch: %r" % (item,))
    assert channel.drain(clock, dispatch, 64) == 600
    assert channel.reads == 600 and channel.arrival is None
    assert sorted(log) == [(v + 1, rounds, round(400.1 + (rounds - 1) * 0.1 + v * 1e-4, 6)) for v in range(200)]
    assert channel.read_at == 400.52  # the read that ran the queue empty (the third)


def test_a_drain_keeps_the_order_of_runs_and_other_adverts_across_its_reads(monkeypatch):
    wall = {"t": 500.0 + OFFSET}
    monkeypatch.setattr(netio, "_wall", lambda: wall["t"])
    channel, data, _ring = _timed_channel(monkeypatch)
    channel.receive(500.0, lambda item: None)
    a = _frame(1)
    log = []
    _primed(channel, [a], log)
    other = _frame(9, priority=0)
    size = netio.MAX_READS_PER_WAKEUP
    data.queue = [(a, 500.1 + OFFSET)] * (size + 5) + [(other, 500.2 + OFFSET), (a, 500.3 + OFFSET)]
    wall["t"] = 500.5 + OFFSET
    channel.drain(lambda: 500.5, lambda item: log.append((item.received.advert.vrid, round(channel.arrival, 6))), 64)
    assert log == [(1, size + 5, 500.1), (9, 500.2), (1, 1, 500.3)]  # the run ends where the other advert comes


class _FailingSock(TimedSock):
    def recvmsg(self, size, ancsize):
        if self.queue and self.queue[0] is None:
            self.queue.pop(0)
            raise OSError(5, "EIO")
        return super().recvmsg(size, ancsize)


def test_a_drain_that_fails_hands_over_what_it_read_first(monkeypatch):
    """The error of a read ends the drain (NetIOError) only after the runs read before it went to their instances:
    those adverts were taken off the socket and are not read again."""
    wall = {"t": 600.0 + OFFSET}
    monkeypatch.setattr(netio, "_wall", lambda: wall["t"])
    channel, data, _ring = _timed_channel(monkeypatch, data=_FailingSock())
    channel.receive(600.0, lambda item: None)
    a, b = _frame(1), _frame(2)
    log = []
    _primed(channel, [a, b], log)
    data.queue = [(a, 600.1 + OFFSET), (b, 600.2 + OFFSET), (a, 600.3 + OFFSET)] * 100 + [None, (a, 600.4 + OFFSET)]
    wall["t"] = 600.5 + OFFSET
    with pytest.raises(netio.NetIOError):
        channel.drain(lambda: 600.5, lambda item: None, 64)
    assert sorted(log) == [(1, 200, 600.3), (2, 100, 600.2)]
    assert data.queue == [(a, 600.4 + OFFSET)]


# ---- the daemon: reading when due changes nothing -------------------------------------------------------------
class ReaderLoop(FakeLoop):
    def __init__(self):
        super().__init__()
        self.readers = {}

    def add_reader(self, fd, callback, *args):
        self.readers[fd] = (callback, args)

    def remove_reader(self, fd):
        return self.readers.pop(fd, None) is not None


def _daemon(fake, path, loop):
    _net, made = fake
    d = started_daemon(made, path, loop)
    history = []
    real = d.transitioned

    def transitioned(runtime, old, new, reason):
        history.append((runtime.name, old.name, new.name, d.now()))
        real(runtime, old, new, reason)
    d.transitioned = transitioned
    return d, history


def _call_ready_readers(loop, data, ring):
    """What the loop does when a socket holds something: the reader of the data socket (3) or the doorbell (4)."""
    for fd, sock in ((3, data), (4, ring)):
        if fd in loop.readers and sock.queue:
            callback, args = loop.readers[fd]
            callback(*args)


def _due_daemon(fake, path, monkeypatch):
    """A daemon on a ReaderLoop whose channel is a real netio.Channel on TimedSock / BellSock, as vipd runs it."""
    loop = ReaderLoop()
    monkeypatch.setattr(netio, "_wall", lambda: loop.t + OFFSET)
    d, log = _daemon(fake, path, loop)
    channel, data, ring = _timed_channel(monkeypatch)
    d.channels[("eth0", 4)] = channel
    loop.add_reader(channel.fileno(), d.on_readable, channel)
    d.reading.changed()
    return d, log, loop, data, ring


EVENTS = st.lists(st.tuples(st.integers(5, 1600),  # ms since the last event
                            st.integers(1, 3),  # VRID
                            st.sampled_from([150, 150, 150, 150, 0, 90, 200]),  # priority (ours: 100)
                            st.sampled_from([50, 50, 50, 50, 25, 100])),  # interval, centiseconds
                  min_size=1, max_size=60)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
def test_reading_when_due_leaves_every_machine_as_reading_on_arrival(fake, tmp_path, monkeypatch, events):
    net, _made = fake
    net.addrs = net.addrs[:1]  # the primary only: what an example's masters added goes
    path = tmp_path / "vipd.conf"
    path.write_text(_conf(3, priority=100, advert=0.5))
    eager, eager_log = _daemon(fake, path, FakeLoop())
    due, due_log, loop, data, ring = _due_daemon(fake, path, monkeypatch)
    t = loop.t
    for gap, vrid, priority, interval in events:
        t += gap / 1000.0 + 0.000137  # no tie with a deadline
        eager.loop.run_until(t)
        loop.run_until(t)
        frame = _frame(vrid, priority, interval)
        eager.dispatch(netio.Incoming("eth0", 4, MASTER_IP, GROUP, received=packet.parse_ipv4(frame)))
        data.queue.append((frame, t + OFFSET))
        if ring.insns is not None and bell.run(ring.insns, frame, 4) == bell.RING:
            ring.queue.append((frame, None))
        _call_ready_readers(loop, data, ring)
    t += 5.0  # and the silence after
    eager.loop.run_until(t)
    loop.run_until(t)
    # the same transitions at the same times (the stamps carry nanoseconds: equal to a microsecond)
    assert [entry[:3] for entry in due_log] == [entry[:3] for entry in eager_log]
    assert all(abs(a[3] - b[3]) < 1e-5 for a, b in zip(due_log, eager_log)), (due_log, eager_log)
    for name, inst in eager.instances.items():
        other = due.instances[name].machine
        assert (other.state, other.master_priority, other.advert_int) == (inst.machine.state, inst.machine.master_priority,
                                                                          inst.machine.advert_int)
        assert due.instances[name].counters["adverts_in"] == inst.counters["adverts_in"]


def test_a_backup_channel_is_read_when_due_and_a_master_one_as_adverts_arrive(fake, tmp_path, monkeypatch):
    path = tmp_path / "vipd.conf"
    path.write_text(_conf(2, priority=100, advert=0.5))
    d, log, loop, data, ring = _due_daemon(fake, path, monkeypatch)
    loop.run_until(loop.t + 0.01)
    assert 4 in loop.readers and 3 not in loop.readers and ("eth0", 4) in d.reading.quiet  # the doorbell, not the data
    assert all(i.timer is None for i in d.instances.values())  # one timer for the channel
    assert ring.insns is not None
    for step in range(20):  # a steady master: nothing wakes the daemon but the channel's first deadline
        loop.run_until(loop.t + 0.5)
        for vrid in (1, 2):
            data.queue.append((_frame(vrid, ident=step), loop.t + OFFSET))
    assert d.instances["VI_1"].machine.state == machine.State.BACKUP and not ring.queue
    silent_from = loop.t
    loop.run_until(loop.t + 2.0)  # the master dies: both take over at their deadlines
    assert [entry[2] for entry in log[-2:]] == ["MASTER", "MASTER"]
    assert all(entry[3] - silent_from < 1.6 + 0.5 for entry in log[-2:])
    assert 3 in loop.readers and 4 not in loop.readers and not d.reading.quiet  # masters hear adverts as they arrive


def _quiet_backups(fake, tmp_path, monkeypatch, n=2):
    path = tmp_path / "vipd.conf"
    path.write_text(_conf(n, priority=100, advert=0.5))
    d, log, loop, data, ring = _due_daemon(fake, path, monkeypatch)
    for step in range(6):  # a steady master, followed
        loop.run_until(loop.t + 0.5)
        for vrid in range(1, n + 1):
            data.queue.append((_frame(vrid, ident=step), loop.t + OFFSET))
    loop.run_until(loop.t + 0.01)
    assert ("eth0", 4) in d.reading.quiet and d.instances["VI_1"].machine.state == machine.State.BACKUP
    return d, log, loop, data, ring


def test_drops_from_before_the_channel_was_read_when_due_are_not_drops_while_adverts_waited(fake, tmp_path, monkeypatch):
    """A channel read as adverts arrive uses recv(), which reports no drops. The kernel's count (SO_MEMINFO) is taken
    when the channel starts to be read when due: the drops of a start's burst once made its first drain fall back to
    reading as adverts arrive, for good (a 200-instance backup then cost twice its CPU)."""
    path = tmp_path / "vipd.conf"
    path.write_text(_conf(2, priority=100, advert=0.5))
    d, log, loop, data, _ring = _due_daemon(fake, path, monkeypatch)
    data.dropped = 12  # dropped before the channel is read when due; every datagram reports the count from now on
    key = ("eth0", 4)
    for step in range(8):  # a steady master
        loop.run_until(loop.t + 0.5)
        for vrid in (1, 2):
            data.queue.append((_frame(vrid, ident=step), loop.t + OFFSET))
    assert key in d.reading.quiet and key not in d.reading.broken and not log
    data.dropped = 13  # one more while adverts waited
    for step in range(8, 12):
        loop.run_until(loop.t + 0.5)
        for vrid in (1, 2):
            data.queue.append((_frame(vrid, ident=step), loop.t + OFFSET))
    assert key in d.reading.broken and key not in d.reading.quiet


def test_datagrams_dropped_for_a_full_buffer_end_the_waiting_and_give_the_master_one_more_interval(fake, tmp_path, monkeypatch):
    d, log, loop, data, _ring = _quiet_backups(fake, tmp_path, monkeypatch)
    m = d.instances["VI_1"].machine
    d.reading.catch_up()
    deadline = m.next_deadline
    data.dropped = 7  # the master's last adverts were dropped: what is read says nothing of them
    data.queue.append((_frame(2, ident=99), loop.t + OFFSET))
    loop.run_until(deadline + 0.001)
    assert ("eth0", 4) in d.reading.broken and not d.reading.quiet and 3 in loop.readers
    assert m.state == machine.State.BACKUP  # not at the deadline
    loop.run_until(deadline + m.advert_int + 0.001)
    assert m.state == machine.State.MASTER and abs(log[-1][3] - (deadline + m.advert_int)) < 0.01


def test_a_channel_that_overflowed_is_read_when_due_again_after_a_wait_that_doubles(fake, tmp_path, monkeypatch):
    """An overflow (a stall: a paused VM, a stopped process) sends the channel back to reading adverts as they arrive
    for RETRY_FIRST, not for good (a backup of 200 instances read so costs 1.5-1.7 times its CPU); each further overflow
    waits twice as long. A steady master stays followed throughout."""
    d, log, loop, data, ring = _quiet_backups(fake, tmp_path, monkeypatch)
    key, step = ("eth0", 4), [100]

    def master_speaks_until(t):
        while loop.t + 0.5 < t:
            loop.run_until(loop.t + 0.5)
            step[0] += 1
            for vrid in (1, 2):
                data.queue.append((_frame(vrid, ident=step[0]), loop.t + OFFSET))
            _call_ready_readers(loop, data, ring)  # while read as adverts arrive, the data socket's reader
    for wait in (reading.RETRY_FIRST, 2 * reading.RETRY_FIRST, 4 * reading.RETRY_FIRST):
        data.dropped += 5
        master_speaks_until(loop.t + 2.0)  # the next drain sees the drops
        assert key in d.reading.broken and key not in d.reading.quiet and 3 in loop.readers
        until = d.reading.broken[key]
        assert wait - 2.0 <= until - loop.t <= wait  # fell back within these 2 s, for `wait`
        master_speaks_until(until - 0.5)
        assert key not in d.reading.quiet and 3 in loop.readers  # still read as adverts arrive
        master_speaks_until(until + 1.0)
        assert key in d.reading.quiet and key not in d.reading.broken and 3 not in loop.readers  # when due again
    assert d.reading.fallbacks[key] == 3
    assert not log and all(i.machine.state == machine.State.BACKUP for i in d.instances.values())


def test_a_ring_before_the_data_socket_holds_the_advert_reads_again_a_moment_later(fake, tmp_path, monkeypatch):
    d, log, loop, data, ring = _quiet_backups(fake, tmp_path, monkeypatch)
    m = d.instances["VI_1"].machine
    d.reading.catch_up()
    before = m.next_deadline
    zero = _frame(1, priority=0, ident=50)
    ring.queue.append((zero, None))
    d.reading.on_bell(("eth0", 4))  # nothing in the data socket yet
    data.queue.append((zero, loop.t + OFFSET))
    loop.run_until(loop.t + 0.002)  # the second read
    assert m.next_deadline < before and "priority 0" in m._timer_cause  # pylint: disable=protected-access
    loop.run_until(loop.t + m.skew_time + 0.01)
    assert m.state == machine.State.MASTER and log[-1][:3] == ("VI_1", "BACKUP", "MASTER")


def _reads_of(d, loop, monkeypatch):
    """The loop times at which the quiet channel was drained."""
    channel, times = d.channels[("eth0", 4)], []
    real = channel.drain

    def drain(clock, dispatch, rounds):
        times.append(loop.t)
        return real(clock, dispatch, rounds)
    monkeypatch.setattr(channel, "drain", drain)
    return times


def test_a_busy_channel_has_a_forced_read_before_half_its_buffer_fills(fake, tmp_path, monkeypatch):
    """Datagrams that wait for no deadline (other routers' VRIDs) come at 200 a second into a buffer with room for
    40: the forced read comes about every 0.1 s (TARGET_FILL), not at the backups' deadlines 1.8 s apart."""
    d, log, loop, data, _ring = _quiet_backups(fake, tmp_path, monkeypatch)
    d.reading.quiet[("eth0", 4)].room = 40 * netio.TRUESIZE
    reads = _reads_of(d, loop, monkeypatch)
    start, others = loop.t, [_frame(9 + i % 4, ident=i) for i in range(8)]
    for step in range(600):  # 3 s; the master's adverts every 0.5 s
        loop.run_until(start + step * 0.005)
        data.queue.append((others[step % 8], loop.t + OFFSET))
        if step % 100 == 0:
            for vrid in (1, 2):
                data.queue.append((_frame(vrid, ident=step), loop.t + OFFSET))
    settled = [t for t in reads if t > start + 1.0]
    gaps = [b - a for a, b in zip(settled, settled[1:])]
    assert len(settled) >= 15 and max(gaps) < 0.15, gaps
    assert len(data.queue) < 30 and not log  # never near full; no transition


def test_a_steady_channel_wakes_only_to_drain_with_one_timer_per_drain(fake, tmp_path, monkeypatch):
    """With a steady master the deadlines drain the channel, about every 1.5 s here, and each drain moves the forced
    read CAP_MAX later. The channel has one timer, at its first deadline or at the forced read if that comes first:
    no timer of its own for the forced read, and no wakeup that does not drain."""
    d, _log, loop, data, _ring = _quiet_backups(fake, tmp_path, monkeypatch)
    reads = _reads_of(d, loop, monkeypatch)
    made, fired = [], []
    real_call_at = loop.call_at

    def call_at(when, callback, *args):
        made.append(when)
        return real_call_at(when, lambda *a: fired.append(loop.t) or callback(*a), *args)
    monkeypatch.setattr(loop, "call_at", call_at)
    start = loop.t
    for step in range(60):  # 30 s
        loop.run_until(start + step * 0.5)
        for vrid in (1, 2):
            data.queue.append((_frame(vrid, ident=step), loop.t + OFFSET))
    assert len(reads) >= 15
    assert len(made) <= len(reads) + 1 and len(fired) <= len(reads) + 1, (len(made), len(fired), len(reads))
    assert all(i.machine.state == machine.State.BACKUP for i in d.instances.values())
