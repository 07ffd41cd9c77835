# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the atheris harnesses for a bounded time each, seeded from the repository's fixtures.

  python tests/fuzz/run.py --seconds 20 --target all        # the short fuzz (pytest runs this)
  python tests/fuzz/run.py --seconds 600 --target packet --workdir /tmp/fz   # a long run, corpus kept

Seeds: the VRRP messages in tests/unit/fixtures/vrrp/*.pcap (each under every decoder entry point) and
every *.conf / *.inc under tests/unit/fixtures/configs. The corpus grows in WORKDIR/<target>/corpus;
crash, timeout and leak reproducers land in WORKDIR/<target>/ (crash-*, timeout-*, oom-*, leak-*).
Exit status: 0 when every harness ran its time without a finding, 1 otherwise (the reproducers are listed).
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "unit", "fixtures")
TARGETS = ("packet", "config")
FINDINGS = ("crash-*", "timeout-*", "oom-*", "leak-*", "slow-unit-*")


def pcap_frames(path):
    """(ethertype, l3 bytes) of every frame of a classic pcap file with Ethernet link type."""
    with open(path, "rb") as f:
        data = f.read()
    end = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack(end + "I", data[off + 8:off + 12])[0]
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) > 14:
            out.append((struct.unpack("!H", frame[12:14])[0], frame[14:]))
    return out


def packet_seeds():
    """Seeds in fuzz_packet.py's format: one mode byte, then the packet."""
    seeds = []
    for path in sorted(glob.glob(os.path.join(FIXTURES, "vrrp", "*.pcap"))):
        for ethertype, l3 in pcap_frames(path):
            if ethertype == 0x0800 and len(l3) >= 20:
                ihl = (l3[0] & 0x0F) * 4
                total = struct.unpack("!H", l3[2:4])[0]
                payload = l3[ihl:total]
                seeds += [b"\x03" + l3[:total], b"\x05" + l3[:total], b"\x00" + payload, b"\x01" + payload,
                          b"\x08" + payload]
            elif ethertype == 0x86DD and len(l3) >= 40:
                plen = struct.unpack("!H", l3[4:6])[0]
                payload = l3[40:40 + plen]
                seeds += [b"\x02" + payload, b"\x04" + payload, b"\x12" + payload]
    return seeds


def config_seeds():
    """Seeds in fuzz_config.py's format: one mode byte (0: text as load() reads a file), then the text."""
    seeds = []
    for pattern in ("**/*.conf", "**/*.inc"):
        for path in sorted(glob.glob(os.path.join(FIXTURES, "configs", pattern), recursive=True)):
            with open(path, "rb") as f:
                seeds.append(b"\x00" + f.read())
    return seeds


def write_seeds(corpus, seeds):
    os.makedirs(corpus, exist_ok=True)
    for i, seed in enumerate(seeds):
        with open(os.path.join(corpus, "seed-%04d" % i), "wb") as f:
            f.write(seed)


def run_one(target, seconds, workdir, python, env=None):
    """Fuzz one harness for `seconds`; returns the list of reproducer files it left."""
    base = os.path.join(workdir, target)
    corpus = os.path.join(base, "corpus")
    write_seeds(corpus, packet_seeds() if target == "packet" else config_seeds())
    cmd = [python, os.path.join(HERE, "fuzz_%s.py" % target), "-max_total_time=%d" % seconds,
           "-timeout=10", "-rss_limit_mb=2048", "-max_len=%d" % (8192 if target == "packet" else 16384),
           "-print_final_stats=1", "-artifact_prefix=%s/" % base, corpus]
    print("fuzz %s: %s" % (target, " ".join(cmd)), flush=True)
    with open(os.path.join(base, "fuzz.log"), "wb") as log:
        # the harness runs in WORKDIR so nothing it could write lands in the checkout
        proc = subprocess.run(cmd, cwd=base, stdout=log, stderr=subprocess.STDOUT, timeout=seconds + 300, check=False, env=env)
    found = sorted(p for pat in FINDINGS for p in glob.glob(os.path.join(base, pat)))
    with open(os.path.join(base, "fuzz.log"), "rb") as log:
        tail = log.read()[-3000:].decode("utf-8", "replace")
    stats = [line for line in tail.splitlines() if line.startswith("Done ") or "number_of_executed_units" in line
             or (line.startswith("#") and "DONE" in line)]
    print("fuzz %s: exit %d, %s" % (target, proc.returncode, "; ".join(stats) or "no stats"), flush=True)
    if proc.returncode != 0 or found:
        print(tail, flush=True)
        if not found:
            found = ["(exit status %d, see %s)" % (proc.returncode, os.path.join(base, "fuzz.log"))]
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=20, help="fuzzing time per harness (default 20)")
    ap.add_argument("--target", choices=TARGETS + ("all",), default="all")
    ap.add_argument("--workdir", help="keep corpus, logs and reproducers here (default: a temporary directory)")
    ap.add_argument("--python", default=sys.executable, help="interpreter with atheris installed")
    ap.add_argument("--no-render-check", action="store_true",
                    help="config: leave out the render/parse invariant (to look past an open render finding)")
    args = ap.parse_args(argv)
    env = dict(os.environ, FVFUZZ_NO_RENDER="1") if args.no_render_check else None
    if args.seconds < 1:
        ap.error("--seconds must be at least 1")
    workdir = args.workdir or tempfile.mkdtemp(prefix="fvfuzz-")
    os.makedirs(workdir, exist_ok=True)
    findings = []
    try:
        for target in (TARGETS if args.target == "all" else (args.target,)):
            findings += run_one(target, args.seconds, workdir, args.python, env)
    finally:
        if not args.workdir and not findings:
            shutil.rmtree(workdir, ignore_errors=True)
    if findings:
        print("FINDINGS (reproduce: python tests/fuzz/fuzz_<target>.py FILE):\n  " + "\n  ".join(findings))
        return 1
    print("no findings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
