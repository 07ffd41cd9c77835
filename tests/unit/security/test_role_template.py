# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/vrrp/templates/vrrp.conf.j2 under hostile variables.

The role validates its variables (floating.vip.vrrp_role_errors, tasks/validate.yml) and the template writes
every value through floating.vip.keepalived_word / floating.vip.keepalived_quote. Whatever a variable holds,
either it is refused (by the validation or by a filter, with a message that never holds a raw control
character nor the password), or the rendered file parses (the engine's parser, config.parse_text) to exactly
the statements the template meant: no extra statement or line, the script argv equal to the intended one.
"""
from __future__ import annotations

import copy
import os

import jinja2
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ansible.errors import AnsibleFilterError
from ansible_collections.floating.vip.plugins.filter import keepalived_quote as quote_plugin
from ansible_collections.floating.vip.plugins.filter import keepalived_line as line_plugin
from ansible_collections.floating.vip.plugins.filter import keepalived_word as word_plugin
from ansible_collections.floating.vip.plugins.filter import vrrp_role_errors as errors_plugin
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config_syntax import Source, build_tree, lex_text
from ansible_collections.floating.vip.plugins.plugin_utils import keepalived_text as kt

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TEMPLATE_DIR = os.path.join(REPO, "roles", "vrrp", "templates")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

FILTERS = {}
for _plugin in (quote_plugin, word_plugin, errors_plugin, line_plugin):
    FILTERS.update(("floating.vip." + k, v) for k, v in _plugin.FilterModule().filters().items())

# Every character class that ever broke a line-oriented format, plus keepalived's own syntax.
HOSTILE = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00\t \"'\\#!{}$@;~\x1b\u202e\ufeffaZ09/-_.:="
hostile_text = st.one_of(
    st.text(alphabet=st.sampled_from(HOSTILE), max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=20),
    st.lists(st.text(alphabet=st.sampled_from("ab/_-.\"'\\ #!{}$x"), min_size=1, max_size=6), min_size=1, max_size=5).map(" ".join),
    st.text(max_size=30),
    st.builds(lambda a, b, c: a + b + c, st.sampled_from(["/bin/true", "VI_1", "eth0", "198.51.100.7/24", "pw"]),
              st.text(alphabet=st.sampled_from(HOSTILE), max_size=12), st.sampled_from(["", "user root", "}", " x"])),
)


def base_vars(tmp):
    return {
        "ansible_managed": "Ansible managed",
        "vrrp_include_dir": str(tmp),
        "vrrp_global": {"router_id": "lab1", "notification_email": ["ops@example.org"], "smtp_server": "198.51.100.250 25",
                        "script_user": "root", "vrrp_version": 2,
                        # hostile values reach script paths: these tests check quoting, not whether the paths exist
                        "enable_script_security": False},
        "vrrp_scripts": [{"name": "chk_web", "script": "/usr/bin/test -e /etc/hostname", "interval": 2, "weight": -30,
                          "user": "root"}],
        "vrrp_instances": [{
            "name": "VI_A", "state": "MASTER", "interface": "eth0", "virtual_router_id": 71, "priority": 150,
            "advert_int": 1, "authentication": {"auth_type": "PASS", "auth_pass": "s3cret"},
            "unicast_src_ip": "198.51.100.11", "unicast_peers": ["198.51.100.12"],
            "virtual_ipaddresses": ["198.51.100.71/24 dev eth0 label eth0:71", {"address": "198.51.100.72/24", "dev": "eth0"}],
            "track_scripts": [{"name": "chk_web", "weight": 0}], "track_interfaces": ["eth0 weight -10"],
            "notify_master": "/bin/true master", "notify": "/bin/true",
        }],
        "vrrp_sync_groups": [{"name": "SG_1", "instances": ["VI_A"], "notify_master": "/bin/true group"}],
    }


# As Ansible's template module renders (trim_blocks), with the collection's filters by their FQCN.
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), trim_blocks=True, undefined=jinja2.Undefined,
                         autoescape=False)
ENV.filters.update(FILTERS)


def render(variables):
    return ENV.get_template("vrrp.conf.j2").render(**variables)


def role_errors(variables):
    return FILTERS["floating.vip.vrrp_role_errors"](
        dict((k, v) for k, v in variables.items() if k.startswith("vrrp_") and k != "vrrp_include_dir"))


# Blocks whose lines are values (the first word is data, not a keyword).
LIST_BLOCKS = ("notification_email", "unicast_peer", "virtual_ipaddress", "virtual_ipaddress_excluded",
               "track_interface", "track_script", "group", "track_file", "virtual_routes", "virtual_rules")
# Statements whose number of words depends on the value.
FREE_ARITY = ("smtp_server", "script_user", "user")


def skeleton(text, tmp):
    """The statement structure of a config: keywords, their word counts, blocks (values in list blocks elided)."""
    src = Source()
    tree = build_tree(lex_text(text, os.path.join(str(tmp), "vrrp.conf"), src), src)
    errors = [m for m in src.messages if m.level == "error"]
    assert not errors, errors

    def walk(nodes, in_list):
        out = []
        for node in nodes:
            if in_list:
                out.append(("*", None if node.children is None else walk(node.children, False)))
            else:
                arity = None if node.keyword in FREE_ARITY else len(node.args)
                out.append((node.keyword, arity, None if node.children is None else walk(node.children, node.keyword in LIST_BLOCKS)))
        return out
    return walk(tree, False)


# Everything the validation may say about a password: fixed texts, nothing taken from the value.
AUTH_PASS_REASONS = (["must be %s" % kt.WORD_RULE, kt.AUTH_PASS_TOO_LONG]
                     + ["must not contain %s" % c for c in ("a line separator", "a control or format character",
                                                            "a non-printable character")])


def no_raw_controls(messages, secret=None):
    for message in messages:
        assert kt.bad_character(message) is None, repr(message)
        if secret is not None and "auth_pass" in message:
            assert message.split(".auth_pass: ", 1)[1] in AUTH_PASS_REASONS, message


# ---------------------------------------------------------------- examples

def test_the_role_variables_render_and_parse(tmp_path):
    variables = base_vars(tmp_path)
    assert role_errors(variables) == []
    cfg = config.parse_text(render(variables), str(tmp_path / "vrrp.conf"))
    inst = cfg.instances["VI_A"]
    assert inst.notify_master == "/bin/true master" and inst.auth_pass == "s3cret"
    assert cfg.scripts["chk_web"].script == "/usr/bin/test -e /etc/hostname"
    assert [v.label for v in inst.vips] == ["eth0:71", None]


def test_sync_group_tracking_renders_as_group_tracking(tmp_path):
    variables = base_vars(tmp_path)
    variables["vrrp_instances"].append(dict(variables["vrrp_instances"][0], name="VI_B", virtual_router_id=72,
                                            virtual_ipaddresses=["198.51.100.73/24"], track_scripts=[], track_interfaces=[]))
    variables["vrrp_sync_groups"][0].update(instances=["VI_A", "VI_B"], track_interfaces=["eth1 weight -5"],
                                            track_scripts=[{"name": "chk_web", "weight": -20}])
    assert role_errors(variables) == []
    group = config.parse_text(render(variables), str(tmp_path / "vrrp.conf")).sync_groups["SG_1"]
    assert group.track_interfaces == [("eth1", -5)] and group.track_scripts == [("chk_web", -20)]
    variables["vrrp_sync_groups"][0]["track_scripts"] = ["chk_web weight x"]
    assert any("vrrp_sync_groups[0].track_scripts[0]" in e for e in role_errors(variables)), role_errors(variables)


@pytest.mark.parametrize("slot, value", [
    (("vrrp_instances", 0, "notify_master"), '/bin/true"\n    notify_backup "/tmp/evil'),
    (("vrrp_instances", 0, "notify_master"), "/bin/true\n}\nvrrp_script x {\n script /tmp/evil\n}"),
    (("vrrp_scripts", 0, "script"), '/bin/true"\n    user root'),
    (("vrrp_scripts", 0, "script"), "/bin/true\u2028user root"),
    (("vrrp_scripts", 0, "script"), "/bin/true\x85user root"),
    (("vrrp_scripts", 0, "script"), "/bin/true\x0cuser root"),
    (("vrrp_scripts", 0, "user"), "nobody\nroot"),
    (("vrrp_instances", 0, "name"), "VI_A {\n}\nvrrp_instance VI_B"),
    (("vrrp_instances", 0, "interface"), "eth0\x00"),
    (("vrrp_instances", 0, "virtual_ipaddresses", 0), "198.51.100.71/24\n    198.51.100.99/24"),
    (("vrrp_instances", 0, "unicast_peers", 0), "198.51.100.12 }"),
    (("vrrp_global", "router_id"), "r1\r\n    script_user root"),
    (("vrrp_global", "notification_email", 0), "a@b\x1eenable_script_security"),
    (("vrrp_sync_groups", 0, "instances", 0), "include"),
    (("vrrp_instances", 0, "track_interfaces", 0), "@eth0 weight 10"),
    (("vrrp_sync_groups", 0, "track_interfaces"), ["eth1 weight -5\n    }\n    notify /tmp/evil"]),
])
def test_injections_are_refused(tmp_path, slot, value):
    variables = base_vars(tmp_path)
    target = variables
    for key in slot[:-1]:
        target = target[key]
    target[slot[-1]] = value
    errors = role_errors(variables)
    assert errors, "validation accepted %r" % value
    no_raw_controls(errors)
    # Even without the validation, the filters alone let no statement in: they refuse the value, or what
    # they write has the intended structure (a name at the start of a line is the validation's alone).
    try:
        text = render(variables)
    except AnsibleFilterError as exc:
        no_raw_controls([str(exc)])
        return
    assert value in ("include", "@eth0 weight 10") or skeleton(text, tmp_path) == skeleton(render(base_vars(tmp_path)), tmp_path)


def test_password_is_never_echoed(tmp_path):
    variables = base_vars(tmp_path)
    for secret in ("pass word", "toolongpassword", 'p"w\nx', "pw#1"):
        variables["vrrp_instances"][0]["authentication"]["auth_pass"] = secret
        errors = role_errors(variables)
        assert errors and all("auth_pass" in e for e in errors)
        for message in errors:
            assert secret not in message and secret[:3] not in message.split(":", 1)[1]
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS["floating.vip.keepalived_word"]("se cret")
    assert "se cret" not in str(info.value)


def test_quoted_commands_keep_their_argv(tmp_path):
    variables = base_vars(tmp_path)
    command = "/bin/echo \"a b\" 'c d' e\\ f \\x41 #not-a-comment ! { } $HOME"
    variables["vrrp_instances"][0]["notify_master"] = command
    variables["vrrp_scripts"][0]["script"] = command
    assert role_errors(variables) == []
    cfg = config.parse_text(render(variables), str(tmp_path / "vrrp.conf"))
    assert cfg.instances["VI_A"].notify_master == command
    assert cfg.scripts["chk_web"].script == command
    assert config.split_command(command) == ["/bin/echo", "a b", "c d", "e f", "A", "#not-a-comment", "!", "{", "}", "$HOME"]


def test_strings_for_numbers_and_other_types(tmp_path):
    variables = base_vars(tmp_path)
    variables["vrrp_instances"][0]["priority"] = "100"
    assert role_errors(variables) == []
    assert config.parse_text(render(variables), str(tmp_path / "vrrp.conf")).instances["VI_A"].priority == 100
    for bad in ("100\n    nopreempt", True, 1.5, [1], "1e3"):
        variables["vrrp_instances"][0]["priority"] = bad
        assert role_errors(variables), bad
    variables = base_vars(tmp_path)
    variables["vrrp_instances"][0]["surprise"] = "x"
    variables["vrrp_instances"][0]["smtp_alert"] = "false"
    errors = role_errors(variables)
    assert any("unknown option 'surprise'" in e for e in errors) and any("smtp_alert" in e for e in errors)


def test_role_paths_are_checked():
    errors = role_errors({"vrrp_config_file": "/etc/vipd/vipd.conf\nExecStartPre=/tmp/x", "vrrp_python": "python3",
                          "vrrp_control_socket": "/run/vipd/vipd sock", "vrrp_extra_capabilities": ["CAP_SETUID", "x y"]})
    assert [e.split(":")[0] for e in errors] == ["vrrp_config_file", "vrrp_control_socket", "vrrp_extra_capabilities[1]"]
    no_raw_controls(errors)


# ---------------------------------------------------------------- properties

SLOTS = [
    ("vrrp_instances", 0, "notify_master"),
    ("vrrp_instances", 0, "notify"),
    ("vrrp_scripts", 0, "script"),
    ("vrrp_sync_groups", 0, "notify_master"),
    ("vrrp_instances", 0, "name"),
    ("vrrp_scripts", 0, "name"),
    ("vrrp_sync_groups", 0, "name"),
    ("vrrp_instances", 0, "authentication", "auth_pass"),
    ("vrrp_instances", 0, "interface"),
    ("vrrp_instances", 0, "virtual_ipaddresses", 0),
    ("vrrp_instances", 0, "track_interfaces", 0),
    ("vrrp_instances", 0, "unicast_peers", 0),
    ("vrrp_global", "router_id"),
    ("vrrp_global", "smtp_server"),
    ("vrrp_global", "script_user"),
    ("vrrp_global", "notification_email", 0),
    ("vrrp_scripts", 0, "user"),
]
COMMAND_SLOTS = SLOTS[:4]


def _set(variables, slot, value):
    target = variables
    for key in slot[:-1]:
        target = target[key]
    target[slot[-1]] = value
    # Keep the references consistent so a renamed instance or script still parses.
    if slot == ("vrrp_instances", 0, "name"):
        variables["vrrp_sync_groups"][0]["instances"] = [value]
    if slot == ("vrrp_scripts", 0, "name"):
        variables["vrrp_instances"][0]["track_scripts"] = [{"name": value, "weight": 0}]


@SETTINGS
@given(slot=st.sampled_from(SLOTS), value=hostile_text)
def test_any_value_is_refused_or_renders_exactly_the_intended_statements(tmp_path, slot, value):
    variables = base_vars(tmp_path)
    intended = skeleton(render(copy.deepcopy(variables)), tmp_path)
    _set(variables, slot, value)
    secret = value if "auth_pass" in slot else None
    errors = role_errors(variables)
    if errors:
        event("refused by the validation")
        no_raw_controls(errors, secret)
        return
    try:
        text = render(variables)
    except AnsibleFilterError as exc:
        event("refused by a filter")
        no_raw_controls([str(exc)], secret)
        return
    event("rendered")
    # Validated and rendered: the very same statements as the benign variables, nothing more.
    assert skeleton(text, tmp_path) == intended, text
    try:
        cfg = config.parse_text(text, str(tmp_path / "vrrp.conf"))
    except config.ConfigError:
        # A value of the right shape may still be wrong for the engine (e.g. an option it does not know);
        # vipd check refuses the file then. Commands, names and passwords always parse.
        assert slot[-1] in (0, "interface", "router_id", "script_user", "user", "smtp_server")
        return
    inst = next(iter(cfg.instances.values()))
    if slot in COMMAND_SLOTS:
        if slot[0] == "vrrp_scripts":
            got = next(iter(cfg.scripts.values())).script
        elif slot[0] == "vrrp_sync_groups":
            got = getattr(next(iter(cfg.sync_groups.values())), slot[-1])
        else:
            got = getattr(inst, slot[-1])
        assert got == value
        assert config.split_command(got) == config.split_command(value)
    elif slot == ("vrrp_instances", 0, "name"):
        assert list(cfg.instances) == [value]
    elif slot == ("vrrp_scripts", 0, "name"):
        assert list(cfg.scripts) == [value]
    elif slot == ("vrrp_sync_groups", 0, "name"):
        assert list(cfg.sync_groups) == [value]
    elif "auth_pass" in slot:
        assert inst.auth_pass == value


@SETTINGS
@given(value=st.one_of(hostile_text, st.integers(), st.floats(), st.booleans(), st.none()))
def test_keepalived_word_is_one_token_or_refused(value):
    try:
        word = kt.keepalived_word(value)
    except kt.KeepalivedTextError as exc:
        assert kt.bad_character(str(exc)) is None
        # The message is fixed text: never the value (it may be a password).
        assert str(exc).startswith("a keepalived word ") and str(exc) in (
            "a keepalived word must be %s" % kt.WORD_RULE, "a keepalived word cannot be empty",
            "a keepalived word must be a string or a number, got %s" % type(value).__name__,
            "a keepalived word cannot contain %s" % kt.bad_character(str(value)))
        return
    src = Source()
    tokens = lex_text("keyword %s\n" % word, "<t>", src)
    assert [(t.value, t.quoted) for t in tokens] == [("keyword", False), (word, False)]
    assert not src.messages


@SETTINGS
@given(value=hostile_text)
def test_keepalived_quote_reads_back_or_is_refused(value):
    try:
        text = kt.keepalived_quote(value)
    except kt.KeepalivedTextError as exc:
        assert kt.bad_character(str(exc)) is None
        return
    cfg = config.parse_text("vrrp_script s {\n    script %s\n}\n" % text, "<t>")
    assert cfg.scripts["s"].script == value
    assert config.split_command(cfg.scripts["s"].script) == config.split_command(value) != []


# ---------------------------------------------------------------- issue 10: the role's keepalived-fidelity variables

def full_vars(tmp, backend="vipd"):
    """Every variable the role gained for issue 10 (keepalived 2.2.7 keywords vipd implements, vipd's own blocks)."""
    variables = base_vars(tmp)
    variables["vrrp_backend"] = backend
    variables["vrrp_global"].update({
        "vrrp_strict": False, "vrrp_higher_prio_send_advert": True, "vrrp_lower_prio_no_advert": False,
        "vrrp_garp_lower_prio_delay": 7, "vrrp_garp_lower_prio_repeat": 3, "vrrp_notify_priority_changes": True,
        "vrrp_startup_delay": 1.5, "vrrp_notify_fifo": "/run/vipd/notify.fifo", "vrrp_notify_fifo_script": "/bin/true fifo",
        "raw": ["vrrp_garp_master_refresh 60"],
    })
    variables["vrrp_scripts"][0].update({"weight": -30, "reverse": True})
    variables["vrrp_track_files"] = [{"name": "tf_maint", "file": "/var/run/maint", "weight": -20, "reverse": True,
                                      "init_file": 0, "overwrite": True}]
    variables["vrrp_vipd_checks"] = [{"name": "web_up", "type": "http", "host": "198.51.100.80", "port": 8080, "path": "/health",
                                      "expect_status": 204, "interval": 0.5, "timeout": 0.4, "rise": 2, "fall": 3,
                                      "weight": 10, "reverse": True}] if backend == "vipd" else []
    inst = variables["vrrp_instances"][0]
    inst.update({
        "unicast_src_ip": None, "unicast_peers": [], "mcast_src_ip": "198.51.100.11", "dont_track_primary": True,
        "accept": False, "higher_prio_send_advert": True, "lower_prio_no_advert": True, "notify_priority_changes": False,
        "garp_lower_prio_delay": 2, "garp_lower_prio_repeat": 4, "notify_master_rx_lower_pri": "/bin/true rx lower",
        "track_files": [{"name": "tf_maint", "weight": -5}],
        "raw": ["garp_master_refresh_repeat 2", "# a comment with } a brace"],
    })
    if backend == "vipd":
        inst["garp_interval"] = 0.01
        inst["track_scripts"] = [{"name": "chk_web", "weight": 0}, "web_up"]
    variables["vrrp_sync_groups"] = []  # weights apply (keepalived drops weighted tracking in a sync group)
    variables["vrrp_raw_config"] = ["vrrp_sync_group SG_RAW {", "    group {", "        VI_B", "    }", "}"]
    variables["vrrp_instances"].append({"name": "VI_B", "interface": "eth1", "virtual_router_id": 72,
                                        "virtual_ipaddresses": ["198.51.100.73/24"]})
    return variables


def test_issue10_variables_render_and_parse_as_meant(tmp_path):
    variables = full_vars(tmp_path)
    assert role_errors(variables) == []
    text = render(variables)
    cfg = config.parse_text(text, str(tmp_path / "vrrp.conf"))
    g, inst = cfg.global_defs, cfg.instances["VI_A"]
    assert g.vrrp_higher_prio_send_advert and not g.vrrp_lower_prio_no_advert and g.vrrp_notify_priority_changes
    assert (g.vrrp_garp_lower_prio_delay, g.vrrp_garp_lower_prio_repeat, g.vrrp_garp_master_refresh) == (7, 3, 60)
    assert g.vrrp_notify_fifo == ["/run/vipd/notify.fifo"] and g.vrrp_notify_fifo_script == "/bin/true fifo"
    assert inst.mcast_src_ip == "198.51.100.11" and inst.dont_track_primary and inst.accept is False
    assert inst.higher_prio_send_advert and inst.lower_prio_no_advert and inst.notify_priority_changes is False
    assert (inst.garp_lower_prio_delay, inst.garp_lower_prio_repeat, inst.garp_interval) == (2, 4, 0.01)
    assert inst.notify_master_rx_lower_pri == "/bin/true rx lower" and inst.track_files == [("tf_maint", -5)]
    assert inst.garp_master_refresh_repeat == 2
    script = cfg.scripts["chk_web"]
    assert script.weight == -30 and script.weight_reverse
    assert cfg.track_files["tf_maint"].weight == -20 and cfg.track_files["tf_maint"].weight_reverse
    assert cfg.track_files["tf_maint"].init_file == 0 and cfg.track_files["tf_maint"].init_overwrite
    check = cfg.scripts["web_up"]
    assert check.weight == 10 and check.weight_reverse and check.rise == 2 and check.interval == 0.5
    assert list(cfg.sync_groups) == ["SG_RAW"] and cfg.sync_groups["SG_RAW"].instances == ["VI_B"]
    assert [name for name, _w in inst.track_scripts] == ["chk_web", "web_up"]


def test_keepalived_backend_gets_only_keepalived_keywords(tmp_path):
    variables = full_vars(tmp_path, backend="keepalived")
    assert role_errors(variables) == []
    text = render(variables)
    assert "vipd_check" not in text and "garp_interval" not in text.replace("vrrp_garp_interval", "")
    # vipd-only things are refused for keepalived, never dropped silently
    variables["vrrp_instances"][0]["garp_interval"] = 0.01
    variables["vrrp_vipd_checks"] = [{"name": "c", "type": "icmp", "host": "198.51.100.1"}]
    errors = role_errors(variables)
    assert any(e.startswith("vrrp_instances[0].garp_interval: keepalived has no per-instance garp_interval") for e in errors)
    assert any(e.startswith("vrrp_vipd_checks: vipd_check blocks are vipd's own") for e in errors)
    # every keyword the keepalived rendering holds is one keepalived 2.2.7 knows (vipd's table of its keywords)
    from ansible_collections.floating.vip.plugins.module_utils.vrrp import config_keywords as kw
    known = set(kw.IMPLEMENTED) | set().union(*kw.UNIMPLEMENTED.values())
    tree = skeleton(text, tmp_path)

    def keywords(nodes):
        for keyword, _arity, children in ((n + (None,))[:3] if len(n) == 2 else n for n in nodes):
            if keyword != "*":
                yield keyword
            if children:
                yield from keywords(children)
    unknown = set(keywords(tree)) - known - {"track_interface", "group"}
    assert not unknown, unknown


@pytest.mark.parametrize("slot, value, reason", [
    (("vrrp_instances", 0, "raw"), ["}", "vrrp_script evil {", "script /tmp/x"], "closes a block"),
    (("vrrp_instances", 0, "raw"), ["unicast_peer {"], "leave 1 block(s) open"),
    (("vrrp_instances", 0, "raw"), ["unicast_ttl 64\n}"], "line separator"),
    (("vrrp_instances", 0, "raw"), ["unicast_ttl\t64"], "control or format"),
    (("vrrp_instances", 0, "raw"), ["@other }"], "starts with '@'"),
    (("vrrp_global", "raw"), ['"}" }'], "closes a block"),
    (("vrrp_raw_config",), ["x { # }"], "leave 1 block(s) open"),
    (("vrrp_raw_config",), "a string", "must be a list"),
    (("vrrp_writable_paths",), ["/var/lib/app\nReadWritePaths=/"], "must not contain"),
    (("vrrp_writable_paths",), ["relative"], "absolute path"),
    (("vrrp_script_files",), ["files/../x y.sh"], "file name"),
    (("vrrp_script_files",), [{"src": "files/a.sh", "name": "../a"}], "file name"),
    (("vrrp_private_tmp",), "no", "true or false"),
    (("vrrp_vipd_checks",), [{"name": "c", "type": "smtp", "host": "h"}], "must be one of icmp"),
    (("vrrp_vipd_checks",), [{"name": "c", "type": "http", "host": "h", "path": "health"}], "must start with '/'"),
    (("vrrp_track_files",), [{"name": "t", "file": "/x y"}], "absolute path"),
    (("vrrp_instances", 0, "virtual_routes"), ["198.51.100.0/25 via 198.51.100.1 }"], "must be printable ASCII"),
    (("vrrp_instances", 0, "accept"), "yes", "true or false"),
])
def test_issue10_bad_values_are_refused(tmp_path, slot, value, reason):
    variables = full_vars(tmp_path)
    _set(variables, slot, value)
    errors = role_errors(variables)
    assert any(reason in e for e in errors), errors
    no_raw_controls(errors)


def test_auth_pass_longer_than_8_is_refused_with_the_reason(tmp_path):
    """keepalived's daemon cuts it to 8, but `keepalived -t` exits 5 and `vipd check` fails: the role validates with
    them, so it refuses it up front, with why and without the password."""
    variables = base_vars(tmp_path)
    variables["vrrp_instances"][0]["authentication"]["auth_pass"] = "123456789"
    errors = role_errors(variables)
    assert errors == ["vrrp_instances[0].authentication.auth_pass: " + kt.AUTH_PASS_TOO_LONG]
    assert "12345" not in errors[0]


RAW_SLOTS = [("vrrp_instances", 0, "raw"), ("vrrp_global", "raw")]


@SETTINGS
@given(slot=st.sampled_from(RAW_SLOTS), lines=st.lists(hostile_text, min_size=1, max_size=4))
def test_raw_lines_never_leave_their_block(tmp_path, slot, lines):
    """Whatever raw lines hold: refused, or the file keeps the intended top-level statements (the raw lines stay
    inside the block they were written to)."""
    variables = base_vars(tmp_path)
    intended = [node[0] for node in skeleton(render(copy.deepcopy(variables)), tmp_path)]
    _set(variables, slot, lines)
    errors = role_errors(variables)
    if errors:
        event("refused")
        no_raw_controls(errors)
        return
    try:
        text = render(variables)
    except AnsibleFilterError as exc:
        event("refused by a filter")
        no_raw_controls([str(exc)])
        return
    event("rendered")
    src = Source()
    tree = build_tree(lex_text(text, str(tmp_path / "vrrp.conf"), src), src)
    assert [node.keyword for node in tree] == intended, text


def test_issue10_address_and_garp_variables_render_and_parse(tmp_path):
    variables = base_vars(tmp_path)
    variables["vrrp_global"].update({"vrrp_min_garp": True, "vrrp_garp_extra_if": 30, "vrrp_garp_extra_if_all": True,
                                     "umask": "0022", "smtp_helo_name": "lb1.example.com", "no_email_faults": True})
    inst = variables["vrrp_instances"][0]
    inst.update({"promote_secondaries": True, "garp_extra_if": 10, "garp_extra_if_all": True})
    inst["virtual_ipaddresses_excluded"] = ["2001:db8::71/128 noprefixroute -nodad preferred_lft forever no_track"]
    assert role_errors(variables) == []
    cfg = config.parse_text(render(variables), str(tmp_path / "vrrp.conf"))
    g, i = cfg.global_defs, cfg.instances["VI_A"]
    assert g.vrrp_garp_master_repeat == 1 and g.vrrp_garp_master_delay == 0  # vrrp_min_garp
    assert (g.vrrp_garp_extra_if, g.vrrp_garp_extra_if_all, g.umask) == (30, True, 0o022)
    assert g.smtp_helo_name == "lb1.example.com" and g.no_email_faults
    assert i.promote_secondaries and (i.garp_extra_if, i.garp_extra_if_all) == (10, True)
    evip = i.excluded_vips[0]
    assert evip.flags == 0x200 and evip.dad and evip.no_track and evip.effective_preferred_lft() is None
    variables["vrrp_global"]["umask"] = 0o027  # YAML 0027 is an int: written back in octal
    assert config.parse_text(render(variables), str(tmp_path / "vrrp.conf")).global_defs.umask == 0o027


@pytest.mark.parametrize("slot, value, reason", [
    (("vrrp_global", "umask"), "0800", "octal mask"),
    (("vrrp_global", "umask"), "022 }", "octal mask"),
    (("vrrp_global", "umask"), 0o1000, "between 0 and 511"),
    (("vrrp_global", "vrrp_garp_extra_if"), 86401, "between 0 and 86400"),
    (("vrrp_instances", 0, "garp_extra_if"), "10 all", "integer"),
    (("vrrp_instances", 0, "promote_secondaries"), "yes", "true or false"),
    (("vrrp_global", "smtp_helo_name"), "a b", "host"),
])
def test_issue10_address_and_garp_bad_values_are_refused(tmp_path, slot, value, reason):
    variables = base_vars(tmp_path)
    _set(variables, slot, value)
    errors = role_errors(variables)
    assert any(reason in e for e in errors), errors
    no_raw_controls(errors)
