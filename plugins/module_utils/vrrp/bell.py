# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The doorbell's filter: a classic BPF program that lets through only the adverts a backup must hear at once.

A backup's receive rule never changes its state: it only moves its Master_Down_Timer. An advert that moves the
timer later can wait until the timer is due (reading.py replays it with its arrival time); one that can move it
earlier cannot: priority 0 (Skew_Time) and, in VRRPv3, an advert interval other than the one the backup counts
with. The doorbell socket of a channel (netio.Channel.bell) receives, for the VRIDs given, exactly those, and
nothing of other VRIDs. Offsets are those of the VRRP header: after the IPv4 header (its length read from the
packet), at the start of an IPv6 raw socket's data.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import array
import socket
import struct
from typing import Iterable, List, Tuple

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
MAX_KEYS = 255  # jump offsets are 8 bits: one chain entry per VRID keeps every jump in range

# opcodes (linux/filter.h)
_LDX_MSH_B = 0xb1   # X = 4 * (pkt[k] & 0xf)
_LDX_IMM = 0x01     # X = k
_LD_B_IND = 0x50    # A = pkt[X + k] (byte)
_LD_H_IND = 0x48    # A = pkt[X + k] (half word)
_ST = 0x02          # M[k] = A
_LDX_MEM = 0x61     # X = M[k]
_LSH_K = 0x64       # A <<= k
_RSH_K = 0x74       # A >>= k
_OR_X = 0x4c        # A |= X
_JEQ_K = 0x15       # A == k ? jt : jf
_JA = 0x05          # jump k
_RET_K = 0x06       # return k bytes (0: drop)
RING, QUIET = 0xFFFFFFFF, 0


def key(vrid: int, version: int, interval_cs: int, auth_type: int = 0, interval_s: int = 0) -> int:
    """The quiet key of a VRID: its number and the advert's bytes 4-5 a backup counts with (v3: the 12-bit interval
    in centiseconds, the reserved bits zero; v2: authentication type and interval in seconds)."""
    low = (interval_cs & 0x0FFF) if version == 3 else ((auth_type & 0xFF) << 8) | (interval_s & 0xFF)
    return (vrid & 0xFF) << 16 | low


def program(family: int, quiet_keys: Iterable[int], vrids: Iterable[int]) -> List[Tuple[int, int, int, int]]:
    """(code, jt, jf, k) instructions: ring for priority 0 of any VRID; otherwise ring for a VRID in `vrids`
    unless the datagram's key is one of `quiet_keys`; stay quiet for every other VRID."""
    keys, ids = sorted(set(quiet_keys)), sorted(set(vrids))
    if len(keys) > MAX_KEYS or len(ids) > MAX_KEYS:
        raise ValueError("at most %d VRIDs per channel" % MAX_KEYS)
    insns = [(_LDX_MSH_B, 0, 0, 0) if family == 4 else (_LDX_IMM, 0, 0, 0),
             (_LD_B_IND, 0, 0, 2),                 # priority
             (_JEQ_K, 0, 1, 0),
             (_RET_K, 0, 0, RING),                 # priority 0: the master resigned
             (_LD_H_IND, 0, 0, 4),                 # bytes 4-5
             (_ST, 0, 0, 0),
             (_LD_B_IND, 0, 0, 1),                 # VRID
             (_LSH_K, 0, 0, 16),
             (_LDX_MEM, 0, 0, 0),
             (_OR_X, 0, 0, 0)]                     # A = the datagram's key
    for i, k in enumerate(keys):
        insns.append((_JEQ_K, len(keys) - i, 0, k))  # to the quiet return after the chain
    insns += [(_JA, 0, 0, 1), (_RET_K, 0, 0, QUIET), (_RSH_K, 0, 0, 16)]  # A = VRID
    for i, v in enumerate(ids):
        insns.append((_JEQ_K, len(ids) - i, 0, v))  # to the ring return at the end
    insns += [(_RET_K, 0, 0, QUIET), (_RET_K, 0, 0, RING)]
    return insns


def run(insns, data: bytes, family: int) -> int:
    """What the kernel does with `insns` on `data` (the raw socket's datagram): for tests, and the only reader of
    the program besides the kernel. A load past the end drops the datagram, as the kernel does."""
    a = x = 0
    mem = [0] * 16
    pc = 0
    while pc < len(insns):
        code, jt, jf, k = insns[pc]
        pc += 1
        if code in (_LD_B_IND, _LD_H_IND):
            size = 1 if code == _LD_B_IND else 2
            if x + k + size > len(data):
                return QUIET
            a = int.from_bytes(data[x + k:x + k + size], "big")
        elif code == _LDX_MSH_B:
            if k >= len(data):
                return QUIET
            x = 4 * (data[k] & 0x0F)
        elif code == _LDX_IMM:
            x = k
        elif code == _ST:
            mem[k] = a
        elif code == _LDX_MEM:
            x = mem[k]
        elif code == _LSH_K:
            a = (a << k) & 0xFFFFFFFF
        elif code == _RSH_K:
            a >>= k
        elif code == _OR_X:
            a |= x
        elif code == _JEQ_K:
            pc += jt if a == k else jf
        elif code == _JA:
            pc += k
        elif code == _RET_K:
            return k
        else:
            raise ValueError("unknown opcode %#x" % code)
    return QUIET


def attach(sock: socket.socket, insns) -> None:
    """SO_ATTACH_FILTER: the kernel copies the program during the call, so the buffer may go afterwards. The
    program's address comes from an array (ctypes would add a megabyte of RSS to the daemon, issue 11)."""
    code = array.array("B", b"".join(struct.pack("=HBBI", *i) for i in insns))
    fprog = struct.pack("HP", len(insns), code.buffer_info()[0])
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
