# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the vrrp_instance module does with its validated parameters: plan -> write -> reload -> restore.

The module only parses arguments and calls execute(); everything here runs without Ansible, so unit tests
drive it in-process, and every failure becomes a (result, message) pair with the secrets masked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import asdict

from . import vrrp_instance_file as vif


class Outcome(Exception):
    """How run() ends: exit (msg None) or fail; execute() turns it into (result, msg)."""

    def __init__(self, result, msg=None):
        super(Outcome, self).__init__(msg)
        self.result = result
        self.msg = msg


def run(p, check_mode=False, diff=False, warn=None):
    """The module's work on its params; raises Outcome (or any exception, which main() reports)."""
    warn = warn or (lambda text: None)
    conf_dir, main_config, dummy, pidfile = vif.BACKENDS[p["backend"]]
    conf_dir = p["conf_dir"] or conf_dir
    main_config = p["main_config"] or main_config
    pidfile = p["pidfile"] or pidfile
    keepalived = p["backend"] == "keepalived"

    try:
        plan = vif.plan(p, conf_dir, main_config)
    except vif.InstanceFileError as exc:
        try:
            path = vif.instance_path(conf_dir, p["name"])
        except vif.InstanceFileError:
            path = None
        raise Outcome(dict(changed=False, path=path), str(exc))
    for warning in plan.warnings:
        warn(warning)
    result = dict(changed=plan.changed, path=plan.path, content=vif.masked(plan.after) or "", parser_warnings=plan.warnings,
                  reloaded=False)
    if plan.instance is not None:
        data = asdict(plan.instance)
        data.pop("auth_pass", None)
        data.pop("source", None)
        result["instance"] = data
    if diff:
        result["diff"] = plan.diff()
    if check_mode or not plan.changed:
        raise Outcome(result)

    try:
        vif.apply(plan, validate_keepalived=keepalived and p["validate_keepalived"], keepalived_main=main_config if keepalived else None)
    except vif.InstanceFileError as exc:
        result["changed"] = False
        raise Outcome(result, str(exc))
    except (OSError, vif.atomic.PersistError) as exc:
        result["changed"] = False
        raise Outcome(result, "cannot write %s: %s" % (plan.path, getattr(exc, "strerror", None) or exc))

    if p["reload"]:
        try:
            result["reloaded"], result["reload_detail"] = vif.reload_daemon(p["backend"], p["control_socket"], pidfile, plan.path)
        except vif.ReloadError as exc:
            vif.restore(plan)
            result["changed"] = False
            raise Outcome(result, "the daemon refused the new configuration (previous file restored): %s" % exc)
        except OSError as exc:
            raise Outcome(result, "cannot reload %s: %s" % (p["backend"], getattr(exc, "strerror", None) or exc))
        if not result["reloaded"] and "not signalled" in result["reload_detail"]:
            warn(result["reload_detail"])
    raise Outcome(result)


def safe(value, secrets):
    """A result value with the secrets (and their effective first 8 characters) masked."""
    if isinstance(value, str):
        return vif.scrub(value, secrets)
    if isinstance(value, dict):
        return dict((k, safe(v, secrets)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [safe(v, secrets) for v in value]
    return value


def execute(params, check_mode=False, diff=False, warn=None):
    """(result, msg): msg is None on success, else the failure text; secrets masked in both."""
    warn = warn or (lambda text: None)
    secrets = vif.secrets_of(params)
    try:
        run(params, check_mode, diff, lambda text: warn(vif.clean(safe(text, secrets))))
        outcome = Outcome(dict(changed=False), "internal error: the module ended without a result")
    except Outcome as exc:
        outcome = exc
    except Exception as exc:  # pylint: disable=broad-except
        # Every failure is a JSON answer: never a traceback (which could quote a value) instead of one.
        detail = "; ".join(vif.messages(exc)) if isinstance(exc, vif.config.ConfigError) else str(exc)[:500]
        outcome = Outcome(dict(changed=False), "internal error (%s): %s" % (type(exc).__name__, detail))
    msg = None if outcome.msg is None else vif.clean(safe(outcome.msg, secrets))
    return safe(outcome.result, secrets), msg
