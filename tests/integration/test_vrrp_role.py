# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/vrrp_pair.yml and playbooks/status.yml (role floating.vip.vrrp, modules vrrp_info and
vrrp_instance) against the namespace lab: vipd in pidfile mode (vrrp_service_manager: none, from
playbooks/vars/vrrp_lab.yml), a client that follows the VIP by ARP."""
from __future__ import annotations

import json
import os

import pytest

from tests.benchmarks.prober import ProbeProcess
from tests.lab import wait_until

from .conftest import REPO, play, run_playbook
from .peers import InstanceSpec, Node, render_config

pytestmark = pytest.mark.lab

VIP = "198.51.100.50"
PAIR = os.path.join(REPO, "playbooks", "vrrp_pair.yml")
STATUS = os.path.join(REPO, "playbooks", "status.yml")
MIGRATE = os.path.join(REPO, "playbooks", "migrate_from_keepalived.yml")
STATIC = os.path.join(REPO, "playbooks", "static_vip.yml")
LAB_RUN = "/etc/vipd/lab/run"


def holders(lab, ip=VIP):
    return [name for name in lab.server_names() if any(a.get("local") == ip for a in lab.addresses(name, 4))]


def wait_holder(lab, name, timeout=15):
    return wait_until(lambda: holders(lab) == [name], timeout=timeout, interval=0.1, what="%s alone holding %s" % (name, VIP))


def vipd_pid(lab, name):
    proc = lab.run(name, ["cat", LAB_RUN + "/vipd.pid"])
    return int(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None


def client_follows(lab, server, timeout=10):
    """client1 reaches the VIP and its ARP entry names `server`'s MAC."""
    def ok():
        lab.ping("client1", VIP, count=1, timeout=1)
        return lab.neigh("client1", VIP) == lab.mac(server)
    return wait_until(ok, timeout=timeout, interval=0.2, what="client1's ARP entry for %s -> %s" % (VIP, server))


def table(run):
    """The status play's fleet table rows (host -> (state, vips))."""
    rows = {}
    for res in run.results.get("server1", []):
        if res["_task"] == "Fleet table":
            for line in res["msg"][1:]:
                cols = line.split()
                rows[cols[0]] = (cols[4] if cols[4] != "NOT" else "NOT RUNNING", cols[-1])
    return rows


def test_pair_converges_is_idempotent_fails_over_and_preempts_back(lab):
    first = run_playbook(lab, PAIR)
    assert first.rc == 0, first.stdout[-3000:] + first.stderr[-2000:]
    assert first.changed("server1") > 0 and first.changed("server2") > 0
    wait_holder(lab, "server1")
    client_follows(lab, "server1")

    # Second run: nothing to do, nothing restarted or reloaded.
    again = run_playbook(lab, PAIR)
    assert again.rc == 0 and again.changed("server1") == 0 and again.changed("server2") == 0, again.stats
    # The config the role wrote is 0600 and validated; the daemon runs from the lab paths.
    assert lab.run("server1", ["stat", "-c", "%a", "/etc/vipd/vipd.conf"], check=True).stdout.strip() == "600"

    status = run_playbook(lab, STATUS)
    assert status.rc == 0, status.stdout[-3000:]
    assert table(status) == {"server1": ("MASTER", VIP + "/24"), "server2": ("BACKUP", "-")}

    # Stop vipd on the master (SIGTERM: make-before-break resign): the backup takes the VIP and tells the client.
    pid = vipd_pid(lab, "server1")
    assert pid
    lab.run("server1", ["kill", "-TERM", str(pid)], check=True)
    wait_holder(lab, "server2")
    client_follows(lab, "server2")
    status = run_playbook(lab, STATUS)
    assert status.rc == 0, status.stdout[-3000:]
    assert table(status) == {"server1": ("NOT RUNNING", "-"), "server2": ("MASTER", VIP + "/24")}

    # The play starts vipd again on server1; with the higher priority it preempts back.
    back = run_playbook(lab, PAIR)
    assert back.rc == 0 and back.changed("server1") == 1 and back.changed("server2") == 0, back.stats
    wait_holder(lab, "server1")
    client_follows(lab, "server1")


def test_status_fails_on_two_masters(lab):
    assert run_playbook(lab, PAIR).rc == 0
    wait_holder(lab, "server1")
    # Split the pair: server2 stops hearing adverts (nftables in its own namespace, VRRP only).
    nft = "table inet fvsplit {\n  chain in {\n    type filter hook input priority 0;\n    meta l4proto 112 drop\n  }\n}\n"
    lab.run("server2", ["nft", "-f", "-"], input=nft, check=True)
    wait_until(lambda: sorted(holders(lab)) == ["server1", "server2"], timeout=15, interval=0.2, what="both servers master")
    status = run_playbook(lab, STATUS)
    assert status.rc != 0
    assert "VRID 50 has 2 masters: server1, server2" in status.stdout
    # Healed, the lower priority gives way and the check passes again.
    lab.run("server2", ["nft", "delete", "table", "inet", "fvsplit"], check=True)
    wait_holder(lab, "server1")
    assert run_playbook(lab, STATUS).rc == 0


def test_vrrp_instance_module_adds_an_instance_and_reloads(lab):
    assert run_playbook(lab, PAIR).rc == 0
    wait_holder(lab, "server1")
    tasks = """    - name: Second VIP as its own conf.d instance, reloaded over the control socket
      floating.vip.vrrp_instance:
        name: VI_EXTRA
        interface: eth0
        virtual_router_id: 61
        priority: "{{ 120 if inventory_hostname == 'server2' else 110 }}"
        virtual_ipaddresses: ["198.51.100.61/24 dev eth0"]
        track_scripts: [chk_service]
        reload: true
        control_socket: /etc/vipd/lab/run/vipd.sock
      register: extra

    - name: The same VRID on the same interface is refused
      floating.vip.vrrp_instance:
        name: VI_CLASH
        interface: eth0
        virtual_router_id: 50
        virtual_ipaddresses: ["198.51.100.62/24"]
      register: clash
      failed_when: clash is not failed or 'already used by instance VI_SERVICE' not in clash.msg

    - name: Live state
      floating.vip.vrrp_info:
        control_socket: /etc/vipd/lab/run/vipd.sock
      register: info
"""
    run = run_playbook(lab, play("servers", tasks))
    assert run.rc == 0, run.stdout[-3000:]
    extra = [r for r in run.results["server1"] if r["_task"].startswith("Second VIP")][0]
    assert extra["changed"] and extra["reloaded"] and extra["path"] == "/etc/vipd/conf.d/VI_EXTRA.conf"
    info = [r for r in run.results["server1"] if r["_task"] == "Live state"][0]
    assert info["running"] and sorted(i["name"] for i in info["instances"]) == ["VI_EXTRA", "VI_SERVICE"]
    # The reload kept VI_SERVICE where it was, and VI_EXTRA elects server2 (priority 120).
    wait_until(lambda: holders(lab, "198.51.100.61") == ["server2"], timeout=15, interval=0.2, what="server2 holding .61")
    assert holders(lab) == ["server1"]
    assert not os.path.exists("/etc/vipd/conf.d/VI_EXTRA.conf"), "a lab host wrote through to the real /etc"


def test_migrate_from_keepalived_keeps_the_vip_reachable(lab):
    """A live keepalived pair moves to vipd node by node while client1 pings the VIP every 5 ms."""
    nodes = {}
    for rank, server in enumerate(lab.server_names()):
        spec = InstanceSpec(name="VI_1", vrid=50, priority=150 - 10 * rank, vips=(VIP + "/24",),
                            state="MASTER" if rank == 0 else "BACKUP")
        nodes[server] = Node(lab, server, "keepalived", render_config([spec], notify_script="@NOTIFY@"))
    prober = None
    try:
        for node in nodes.values():
            node.start()
        wait_holder(lab, "server1")
        client_follows(lab, "server1")
        peers_dir = os.path.dirname(nodes["server1"].dir)
        extra = {
            "vrrp_migrate_vips": [VIP],
            "vrrp_migrate_config_from": peers_dir + "/{{ inventory_hostname }}-keepalived/vrrp.conf",
            "vrrp_keepalived_pidfile": peers_dir + "/{{ inventory_hostname }}-keepalived/main.pid",
        }
        prober = ProbeProcess(lab.host("client1").netns, VIP, workdir=lab.workdir).start()
        run = run_playbook(lab, MIGRATE, extra_vars=extra, timeout=400, structured=False)
        result = prober.finish()
        prober = None
        assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
        # Backups first, the master last.
        order = [host for task, status, host in _results(run.stdout) if task == "Stop keepalived (pidfile)" and status == "changed"]
        assert order == ["server2", "server1"], run.stdout[-6000:]
        # status.yml ran at the end: one master (server1 may still be waiting to preempt back).
        assert "VRID 50: master server" in run.stdout, run.stdout[-3000:]
        for node in nodes.values():
            assert not node.running()
        wait_holder(lab, "server1")
        client_follows(lab, "server1")
        print("migration: %d probes, %d answered, longest gap %.3f s, gaps %s"
              % (result["sent"], result["received"], result["outage"], result["gaps"][:3]))
        assert result["sent"] > 100 and not any(g.get("open") for g in result["gaps"])
        assert result["outage"] < 3.0, result["gaps"][:3]
    finally:
        if prober is not None:
            prober.kill()
        for node in nodes.values():
            if node.running():
                node.kill()


def _results(stdout):
    """(task name, status, host) of each result line of the default callback, in order."""
    task, out = None, []
    for line in stdout.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):line.rindex("]")]
        elif task and line.split(":")[0] in ("ok", "changed", "skipping", "failed", "fatal") and ": [" in line:
            out.append((task, line.split(":")[0], line.split("[", 1)[1].split("]", 1)[0]))
    return out


def test_static_vip_playbook(lab):
    vips = {"static_vips": [
        {"address": "198.51.100.100/24", "interface": "eth0", "label": "eth0:0", "persist": ["rc_local"]},
        {"address": "2001:db8:5100::100/64", "interface": "eth0"},
    ], "static_vip_hosts": "server1"}
    first = run_playbook(lab, STATIC, extra_vars=vips)
    assert first.rc == 0, first.stdout[-3000:]
    assert first.changed("server1") == 2
    addrs = {(a["local"], a.get("label")) for a in lab.addresses("server1")}
    assert ("198.51.100.100", "eth0:0") in addrs and ("2001:db8:5100::100", None) in addrs
    assert "198.51.100.100" in (lab.read_etc("server1", "/etc/rc.local") or "")
    assert run_playbook(lab, STATIC, extra_vars=vips).changed("server1") == 0
    gone = dict(vips, static_vips=[dict(v, state="absent") for v in vips["static_vips"]])
    assert run_playbook(lab, STATIC, extra_vars=gone).changed("server1") == 2
    assert not {a["local"] for a in lab.addresses("server1")} & {"198.51.100.100", "2001:db8:5100::100"}


def test_role_template_passes_vipd_check_and_keepalived_t(lab):
    """Every variable the role knows, rendered by its template, is valid for both daemons."""
    template = os.path.join(REPO, "roles", "vrrp", "templates", "vrrp.conf.j2")
    tasks = """    - name: Render the role's template
      ansible.builtin.template:
        src: %s
        dest: /etc/fv-template-test.conf
        mode: "0600"
      vars:
        vrrp_include_dir: /etc/fv-template-test.d
        vrrp_global:
          router_id: lab1
          notification_email: [ops@example.org]
          notification_email_from: vipd@example.org
          smtp_server: 198.51.100.250
          smtp_connect_timeout: 10
          vrrp_version: 2
          enable_script_security: true
          script_user: root
          vrrp_garp_master_delay: 2
        vrrp_scripts:
          - {name: chk_web, script: /usr/bin/test -e /etc/hostname, interval: 2, timeout: 1, weight: -30, rise: 2, fall: 2, user: root}
        vrrp_instances:
          - name: VI_A
            state: MASTER
            interface: eth0
            virtual_router_id: 71
            priority: 150
            advert_int: 1
            authentication: {auth_type: PASS, auth_pass: s3cret}
            unicast_src_ip: 198.51.100.11
            unicast_peers: [198.51.100.12]
            virtual_ipaddresses:
              - 198.51.100.71/24 dev eth0 label eth0:71
              - {address: 198.51.100.72/24, dev: eth0, scope: global}
            virtual_ipaddresses_excluded: [{address: "2001:db8:5100::71/64", dev: eth0}]
            track_scripts: [{name: chk_web, weight: 0}]
            notify_master: /bin/true master
            notify: /bin/true
            garp_master_refresh: 30
          - name: VI_B
            interface: eth0
            virtual_router_id: 72
            priority: 90
            version: 3
            preempt: false
            virtual_ipaddresses: ["2001:db8:5100::72/64"]
          - name: VI_C
            interface: eth0
            virtual_router_id: 73
            preempt_delay: 5
            virtual_ipaddresses: [198.51.100.73/24]
            track_interfaces: [{interface: lo, weight: -10}]
            track_scripts: [{name: chk_web, weight: -40}]
            smtp_alert: true
        vrrp_sync_groups:
          - {name: SG_1, instances: [VI_A, VI_B], notify_master: /bin/true group, track_interfaces: [{interface: lo, weight: -5}]}
""" % template
    run = run_playbook(lab, play("server1", tasks))
    assert run.rc == 0, run.stdout[-3000:]
    vipd = os.path.join(REPO, "roles", "vrrp", "files", "vipd")
    check = lab.run("server1", [lab.python, vipd, "check", "-f", "/etc/fv-template-test.conf"])
    assert check.returncode == 0, check.stderr
    # keepalived checks interfaces too: run inside the lab host, whose eth0 exists.
    kt = lab.run("server1", ["keepalived", "-t", "-l", "-f", "/etc/fv-template-test.conf"])
    assert kt.returncode == 0, kt.stdout + kt.stderr


def _validate_only(extra_vars, tmp_path):
    """The role's validation task alone (include_role tasks_from: validate), on localhost: no lab needed."""
    import json
    import subprocess
    import sys

    from .conftest import ansible_env
    path = tmp_path / "validate.yml"
    path.write_text("""---
- name: Validate the vrrp role's variables
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Only the validation tasks
      ansible.builtin.include_role:
        name: floating.vip.vrrp
        tasks_from: validate
""")
    extra = tmp_path / "vars.json"
    extra.write_text(json.dumps(extra_vars))
    argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,", str(path), "-e", "@%s" % extra]
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ansible_env(), timeout=180,
                          check=False)


def test_role_validation_refuses_injected_statements(tmp_path):
    base = {"name": "VI_1", "interface": "eth0", "virtual_router_id": 51, "virtual_ipaddresses": ["198.51.100.51/24"]}
    good = _validate_only({"vrrp_instances": [dict(base, notify_master='/bin/echo "a b" #1')]}, tmp_path)
    assert good.returncode == 0, good.stdout[-2000:] + good.stderr[-2000:]
    hostile = {
        "vrrp_instances": [dict(base, notify_master='/bin/true"\n    notify_backup "/tmp/evil',
                                authentication={"auth_type": "PASS", "auth_pass": "pw\u2028x"})],
        "vrrp_scripts": [{"name": "chk", "script": "/bin/true\n    user root"}],
    }
    bad = _validate_only(hostile, tmp_path)
    out = bad.stdout + bad.stderr
    assert bad.returncode != 0, out[-2000:]
    assert "Invalid floating.vip.vrrp variables" in out
    assert "vrrp_instances[0].notify_master: must not contain a line separator" in out
    assert "vrrp_scripts[0].script: must not contain a line separator" in out
    assert "vrrp_instances[0].authentication.auth_pass" in out and "pw\u2028x" not in out and "pw\\u2028x" not in out


def test_role_template_quotes_commands_for_vipd_and_keepalived(lab):
    """Commands with quotes, comment characters and braces are written so both daemons read one statement each."""
    template = os.path.join(REPO, "roles", "vrrp", "templates", "vrrp.conf.j2")
    tasks = """    - name: Render the role's template
      ansible.builtin.template:
        src: %s
        dest: /etc/fv-quote-test.conf
        mode: "0600"
      vars:
        vrrp_include_dir: /etc/fv-quote-test.d
        vrrp_global: {router_id: lab1, enable_script_security: true, script_user: root}
        vrrp_scripts:
          - {name: chk_q, script: "/usr/bin/test -n 'a b' # {x} !", interval: 2}
        vrrp_instances:
          - name: VI_Q
            interface: eth0
            virtual_router_id: 74
            virtual_ipaddresses: [198.51.100.74/24]
            track_scripts: [chk_q]
            notify_master: '/bin/echo "master here" \\\\x41 {}'
        vrrp_sync_groups: []
""" % template
    run = run_playbook(lab, play("server1", tasks))
    assert run.rc == 0, run.stdout[-3000:]
    vipd = os.path.join(REPO, "roles", "vrrp", "files", "vipd")
    check = lab.run("server1", [lab.python, vipd, "check", "-f", "/etc/fv-quote-test.conf"])
    assert check.returncode == 0, check.stderr
    kt = lab.run("server1", ["keepalived", "-t", "-l", "-f", "/etc/fv-quote-test.conf"])
    assert kt.returncode == 0, kt.stdout + kt.stderr
    text = lab.read_etc("server1", "/etc/fv-quote-test.conf")
    assert "    script \"/usr/bin/test -n 'a b' # {x} !\"\n" in text, text


KEEPALIVED_COMMANDS = [
    '/usr/bin/echo "a b" \'c d\' e\\ f',
    "/usr/bin/echo \\x41\\101 \\\\ back\\\\slash",
    "/usr/bin/echo # ! { } $HOME ; x#y",
    "/usr/bin/echo \"it's\" 'say \"hi\"'",
    "/usr/bin/echo \"\" end",
    "/usr/bin/test -n 'a b' -a -e /etc/hostname",
]


def test_keepalived_reads_the_quoted_commands_as_vipd_does(tmp_path):
    """keepalived 2.2.7 itself (its -d configuration dump) splits every command the role's filter quoted into the
    argv that vipd's parser (config.split_command) gives: the template means the same to both daemons."""
    import shutil
    import subprocess
    import sys

    from .conftest import _need_root, ensure_collection_link
    _need_root()
    if shutil.which("keepalived") is None:
        raise AssertionError("keepalived is not installed (make setup installs it)")
    if ensure_collection_link() not in sys.path:
        sys.path.insert(0, ensure_collection_link())
    from ansible_collections.floating.vip.plugins.module_utils.vrrp import config
    from ansible_collections.floating.vip.plugins.plugin_utils.keepalived_text import keepalived_quote

    scripts = "".join("vrrp_script chk_%d {\n    script %s\n    interval 60\n}\n" % (n, keepalived_quote(c))
                      for n, c in enumerate(KEEPALIVED_COMMANDS))
    conf = tmp_path / "k.conf"
    conf.write_text("global_defs {\n    router_id fvq\n    enable_script_security\n    script_user root\n}\n" + scripts +
                    "vrrp_instance VI_Q {\n    interface fvq0\n    virtual_router_id 75\n    priority 100\n"
                    "    virtual_ipaddress {\n        198.51.100.75/24\n    }\n    track_script {\n%s    }\n"
                    "    notify_master %s\n}\n"
                    % ("".join("        chk_%d weight 0\n" % n for n in range(len(KEEPALIVED_COMMANDS))),
                       keepalived_quote(KEEPALIVED_COMMANDS[0])))
    parsed = config.parse_text(conf.read_text(), str(conf))
    ns = "fvq%d" % os.getpid()
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "fvq0", "type", "veth", "peer", "name", "fvq1"], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "fvq0", "up"], check=True)
        proc = subprocess.run(["timeout", "-s", "TERM", "4", "ip", "netns", "exec", ns, "keepalived", "-n", "-l", "-D", "-d",
                               "-f", str(conf), "-p", str(tmp_path / "k.pid"), "-r", str(tmp_path / "v.pid")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30, check=False)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)
    dump = proc.stdout
    commands = [line.split("Command = ", 1)[1] for line in dump.splitlines() if "    Command = " in line]
    expected = [" ".join("'%s'" % a for a in config.split_command(c)) for c in KEEPALIVED_COMMANDS]
    assert commands == expected, dump[-4000:]
    assert [parsed.scripts["chk_%d" % n].script for n in range(len(KEEPALIVED_COMMANDS))] == KEEPALIVED_COMMANDS
    master = [line for line in dump.splitlines() if "Master state transition script = " in line]
    assert len(master) == 1 and master[0].split(" = ", 1)[1] == expected[0] + ", uid:gid 0:0", dump[-4000:]


# ---- issue 10: the role's keepalived-fidelity variables ----------------------------------------------------

ISSUE10_VIP = "198.51.100.110"


def test_role_issue10_variables_run_vipd_and_stay_idempotent(lab, tmp_path):
    """A role run with the issue-10 variables: a shipped script file (root, 0755, script security on), a script with
    `weight N reverse`, a track_file, a vipd_check, mcast_src_ip, dont_track_primary, accept, higher_prio_send_advert,
    raw lines; vipd runs it and becomes master, a second run changes nothing."""
    script = tmp_path / "chk_ok.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    own = lab.ip("server1")
    text = """---
- name: Issue 10 role variables
  hosts: server1
  gather_facts: false
  pre_tasks:
    - name: Namespace-lab settings
      ansible.builtin.include_vars: %(vars)s
  roles:
    - role: floating.vip.vrrp
      vars:
        vrrp_global:
          router_id: s1
          enable_script_security: true
          script_user: root
          vrrp_higher_prio_send_advert: true
          vrrp_garp_lower_prio_repeat: 2
          raw: ["vrrp_garp_master_refresh_repeat 2"]
        vrrp_script_files:
          - {src: %(script)s, name: chk_ok}
        vrrp_scripts:
          - {name: chk, script: /etc/vipd/scripts/chk_ok, interval: 1, weight: 5, reverse: true}
        vrrp_track_files:
          - {name: maint, file: /etc/vipd/lab/run/maint, weight: -30, init_file: 0}
        vrrp_vipd_checks:
          - {name: self_ping, type: icmp, host: "%(own)s", interval: 1}
        vrrp_instances:
          - name: VI_10
            interface: eth0
            virtual_router_id: 110
            priority: 150
            mcast_src_ip: "%(own)s"
            dont_track_primary: true
            accept: true
            higher_prio_send_advert: true
            garp_lower_prio_delay: 1
            virtual_ipaddresses: [%(vip)s/24]
            track_scripts: [chk, self_ping]
            track_files: [maint]
            raw: ["garp_master_refresh 30"]
        vrrp_raw_config: ["# raw lines end the file"]
""" % {"vars": os.path.join(REPO, "playbooks", "vars", "vrrp_lab.yml"), "script": str(script), "own": own, "vip": ISSUE10_VIP}
    first = run_playbook(lab, text)
    assert first.rc == 0, first.stdout[-3000:] + first.stderr[-2000:]
    stat = lab.run("server1", ["stat", "-c", "%a %U %G", "/etc/vipd/scripts/chk_ok", "/etc/vipd/scripts"], check=True).stdout.split("\n")
    assert stat[:2] == ["755 root root", "755 root root"], stat
    wait_until(lambda: holders(lab, ISSUE10_VIP) == ["server1"], timeout=20, interval=0.2, what="server1 holding the VIP")
    conf = lab.run("server1", ["cat", "/etc/vipd/vipd.conf"], check=True).stdout
    for line in ("    vrrp_higher_prio_send_advert true", "    weight 5 reverse", "vipd_check self_ping {", "track_file maint {",
                 "    mcast_src_ip %s" % own, "    dont_track_primary", "    accept", "    garp_master_refresh 30",
                 "    vrrp_garp_master_refresh_repeat 2", "# raw lines end the file"):
        assert line in conf.splitlines(), line
    status = lab.run("server1", [lab.python, os.path.join(REPO, "roles", "vrrp", "files", "vipd"), "status", "--json",
                                 "--control-socket", LAB_RUN + "/vipd.sock"], check=True).stdout
    inst = [i for i in json.loads(status)["instances"] if i["name"] == "VI_10"][0]
    assert inst["state"] == "MASTER" and inst["source_ip"] == own
    again = run_playbook(lab, text)
    assert again.rc == 0 and again.changed("server1") == 0, again.stats
    # a new script content is a change the fast path sees
    script.write_text("#!/bin/sh\n# v2\nexit 0\n")
    third = run_playbook(lab, text)
    assert third.rc == 0 and third.changed("server1") == 1, third.stats
    assert "# v2" in lab.run("server1", ["cat", "/etc/vipd/scripts/chk_ok"], check=True).stdout


def test_role_issue10_keepalived_rendering_passes_keepalived_t(lab):
    """The same kind of variables for the keepalived back end: no vipd-only keyword in the file, and keepalived -t
    (and vipd check) accept it."""
    template = os.path.join(REPO, "roles", "vrrp", "templates", "vrrp.conf.j2")
    tasks = """    - name: Render the role's template for keepalived
      ansible.builtin.template:
        src: %s
        dest: /etc/fv-template-ka.conf
        mode: "0600"
      vars:
        vrrp_backend: keepalived
        vrrp_include_dir: /etc/fv-template-ka.d
        vrrp_global:
          router_id: lab1
          enable_script_security: true
          script_user: root
          vrrp_higher_prio_send_advert: true
          vrrp_lower_prio_no_advert: false
          vrrp_garp_lower_prio_delay: 3
          vrrp_garp_lower_prio_repeat: 2
          vrrp_notify_priority_changes: true
          raw: ["vrrp_garp_master_refresh 60"]
        vrrp_scripts:
          - {name: chk_web, script: /usr/bin/test -e /etc/hostname, interval: 2, weight: -30, reverse: true}
        vrrp_track_files:
          - {name: maint, file: /etc/fv-maint, weight: -20, reverse: true, init_file: 0, overwrite: true}
        vrrp_instances:
          - name: VI_K
            interface: eth0
            virtual_router_id: 81
            priority: 150
            mcast_src_ip: %s
            dont_track_primary: true
            accept: false
            higher_prio_send_advert: true
            lower_prio_no_advert: true
            garp_lower_prio_delay: 2
            garp_lower_prio_repeat: 4
            notify_master_rx_lower_pri: /bin/true rx
            virtual_ipaddresses: [198.51.100.81/24]
            track_scripts: [chk_web]
            track_files: [{name: maint, weight: -5}]
            raw: ["garp_master_refresh 30"]
        vrrp_sync_groups: []
        vrrp_raw_config: ["vrrp_track_process sshd_up {", "    process sshd", "}"]
""" % (template, lab.ip("server1"))
    run = run_playbook(lab, play("server1", tasks))
    assert run.rc == 0, run.stdout[-3000:]
    text = lab.run("server1", ["cat", "/etc/fv-template-ka.conf"], check=True).stdout
    assert "vipd_check" not in text and "    garp_interval" not in text
    kt = lab.run("server1", ["keepalived", "-t", "-l", "-f", "/etc/fv-template-ka.conf"])
    assert kt.returncode == 0, kt.stdout + kt.stderr
    assert "Unknown keyword" not in kt.stdout + kt.stderr
    check = lab.run("server1", [lab.python, os.path.join(REPO, "roles", "vrrp", "files", "vipd"), "check", "-f", "/etc/fv-template-ka.conf"])
    assert check.returncode == 0, check.stderr
