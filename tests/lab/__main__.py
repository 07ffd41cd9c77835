# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`python -m tests.lab up|down|status|inventory|list|exec|path` (run from the repository root, as root)."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

from .lab import Lab, LabError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="build a lab; prints its prefix (the handle for the other commands)")
    p_up.add_argument("--servers", type=int, default=2)
    p_up.add_argument("--clients", type=int, default=1)
    p_up.add_argument("--prefix", default="", help="e.g. fvab12- (default: random)")
    p_up.add_argument("--dad", action="store_true", help="keep IPv6 duplicate address detection on")
    p_up.add_argument("--json", action="store_true", help="print the whole lab state as JSON")
    for name, text in (("down", "tear a lab down (kills its holders, deletes namespaces and files)"),
                       ("status", "show hosts, addresses and whether their holders are alive"),
                       ("inventory", "print the lab's Ansible inventory (YAML); its path is in `status`")):
        p = sub.add_parser(name, help=text)
        p.add_argument("lab", nargs="?", help="prefix or state directory (default: the only lab built)")
    sub.add_parser("list", help="list labs with saved state")
    p_exec = sub.add_parser("exec", help="run a command inside a host (its own /etc, net, PID namespaces)")
    p_exec.add_argument("lab", help="prefix or state directory")
    p_exec.add_argument("host")
    p_exec.add_argument("argv", nargs=argparse.REMAINDER, help="-- command and arguments")
    p_path = sub.add_parser("path", help="print a lab file's path: inventory (default), state or workdir")
    p_path.add_argument("lab", help="prefix or state directory")
    p_path.add_argument("what", nargs="?", default="inventory", choices=("inventory", "state", "workdir"))
    args = parser.parse_args(argv)

    try:
        if args.cmd == "up":
            lab = Lab(servers=args.servers, clients=args.clients, prefix=args.prefix, dad=args.dad).up()
            if args.json:
                print(json.dumps(json.load(open(lab.state_file)), indent=2))
            else:
                print(lab.prefix)
            return 0
        if args.cmd == "list":
            for name in Lab.saved():
                print(name)
            return 0
        lab = Lab.load(_pick(args.lab))
        if args.cmd == "down":
            problems = lab.down()
            for p in problems:
                print("lab: %s" % p, file=sys.stderr)
            return 1 if problems else 0
        if args.cmd == "exec":
            cmd = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
            if not cmd:
                raise LabError("exec needs a command")
            return subprocess.call(lab.nsenter_argv(args.host) + cmd)
        if args.cmd == "path":
            print({"inventory": lab.inventory_path, "state": lab.state_file, "workdir": lab.workdir}[args.what])
            return 0
        if args.cmd == "inventory":
            sys.stdout.write(lab.inventory_yaml())
            return 0
        alive = lab.alive()
        print("lab %s  workdir %s  inventory %s" % (lab.prefix, lab.workdir, lab.inventory_path))
        print("namespaces present: %s" % (" ".join(lab.namespaces()) or "none"))
        for name, h in lab.hosts.items():
            print("  %-9s %-16s %-22s %s  pid %-7s %s" % (name, h.ip, h.ip6, h.mac, h.pid,
                                                          "alive" if alive[name] else "DEAD"))
        return 0
    except LabError as exc:
        print("lab: %s" % exc, file=sys.stderr)
        return 2


def _pick(handle):
    if handle:
        return handle
    labs = Lab.saved()
    if len(labs) != 1:
        raise LabError("name the lab (have: %s)" % (", ".join(labs) or "none"))
    return labs[0]


if __name__ == "__main__":
    sys.exit(main())
