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
from ansible_collections.floating.vip.plugins.filter import keepalived_word as word_plugin
from ansible_collections.floating.vip.plugins.filter import vrrp_role_errors as errors_plugin
from ansible_collections.floating.vip.plugins.module_utils.vrrp import config
from ansible_collections.floating.vip.plugins.module_utils.vrrp.config_syntax import Source, build_tree, lex_text
from ansible_collections.floating.vip.plugins.plugin_utils import keepalived_text as kt

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TEMPLATE_DIR = os.path.join(REPO, "roles", "vrrp", "templates")
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

FILTERS = {}
for _plugin in (quote_plugin, word_plugin, errors_plugin):
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
                        "script_user": "root", "vrrp_version": 2},
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
               "track_interface", "track_script", "group")
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
AUTH_PASS_REASONS = (["must be %s" % kt.WORD_RULE, "must be at most 8 characters (VRRPv2 carries 8; keepalived would cut it)"]
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
