# -*- coding: utf-8 -*-
# Copyright (c) floating.vip contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""State-change email as keepalived's smtp_alert, sent with smtplib in a worker thread.

The loop only schedules: a slow or dead SMTP server costs a log line, never an advert. Messages
are sent in order by one worker (a queue), each bounded by smtp_connect_timeout.
"""
from __future__ import absolute_import, division, print_function
from __future__ import annotations

__metaclass__ = type

import logging
import socket
from typing import List, Optional

LOG = logging.getLogger("vipd")
MAX_QUEUED = 100  # a flapping pair with a dead SMTP server must not grow memory without bound

BODIES = {
    "MASTER": "=> VRRP Instance is now owning VRRP VIPs <=",
    "BACKUP": "=> VRRP Instance is no longer owning VRRP VIPs <=",
    "FAULT": "=> VRRP Instance is no longer owning VRRP VIPs <=",
    "STOPPED": "=> VRRP Instance stopped <=",
}


def build_message(router_id: str, sender: str, recipients: List[str], kind: str, name: str, old: str, new: str,
                  priority: int, reason: str = ""):
    """keepalived's subject `[router_id] VRRP Instance NAME - Entering STATE state`, plus old/new in the body."""
    # email and smtplib (about 3 MB of RSS) load on the first alert only: most configs never send mail.
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid
    what = "VRRP Group" if kind == "GROUP" else "VRRP Instance"
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = "[%s] %s %s - Entering %s state" % (router_id, what, name, new)
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid("vipd")
    msg["X-Vipd-Transition"] = "%s %s %s -> %s" % (kind, name, old, new)
    lines = [BODIES.get(new, ""), "", "%s: %s" % (what, name), "Old state: %s" % old, "New state: %s" % new,
             "Priority: %d" % priority]
    if reason:
        lines.append("Reason: %s" % reason)
    msg.set_content("\n".join(lines) + "\n")
    return msg


class Mailer:
    def __init__(self, loop, server: Optional[str], port: int = 25, timeout: float = 30.0, sender: Optional[str] = None,
                 recipients: Optional[List[str]] = None, router_id: Optional[str] = None, helo_name: Optional[str] = None,
                 no_email_faults: bool = False):
        self.loop = loop
        # keepalived's smtp.c says `HELO smtp_helo_name` (default: the host name), never EHLO.
        self.helo_name = helo_name or socket.gethostname()
        self.no_email_faults = bool(no_email_faults)
        self.last_state = {}  # (kind, name) -> state last mailed: keepalived's last_email_state
        self.server = server
        self.port = int(port or 25)
        self.timeout = float(timeout or 30)
        self.recipients = list(recipients or [])
        self.router_id = router_id or socket.gethostname()
        self.sender = sender or "keepalived@%s" % socket.gethostname()
        self.executor = None  # a concurrent.futures.ThreadPoolExecutor from the first alert on (RSS, issue 11)
        self.queued = 0
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    @property
    def enabled(self) -> bool:
        return bool(self.server and self.recipients)

    def alert(self, kind: str, name: str, old: str, new: str, priority: int, reason: str = ""):
        """Queue one message; returns the future (tests await it) or None when not sent."""
        if not self.enabled:
            return None
        # keepalived vrrp_smtp_notifier(): no mail for FAULT with no_email_faults, nor for the state mailed last (so
        # MASTER -> FAULT -> MASTER mails once with no_email_faults).
        if (self.no_email_faults and new == "FAULT") or self.last_state.get((kind, name)) == new:
            return None
        self.last_state[(kind, name)] = new
        if self.queued >= MAX_QUEUED:
            self.dropped += 1
            LOG.warning("smtp: %d messages already queued; dropping the alert for %s %s", self.queued, name, new)
            return None
        if self.executor is None:
            from concurrent.futures import ThreadPoolExecutor
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vipd-smtp")
        msg = build_message(self.router_id, self.sender, self.recipients, kind, name, old, new, priority, reason)
        self.queued += 1
        future = self.loop.run_in_executor(self.executor, self._send, msg)
        future.add_done_callback(self._done)
        return future

    def _send(self, msg) -> None:
        import smtplib
        with smtplib.SMTP(self.server, self.port, timeout=self.timeout) as smtp:
            smtp.helo(self.helo_name)
            smtp.send_message(msg)

    def _done(self, future) -> None:
        self.queued -= 1
        exc = future.exception() if not future.cancelled() else None
        if exc is None and not future.cancelled():
            self.sent += 1
            return
        self.failed += 1
        LOG.warning("smtp: cannot send alert via %s:%d: %s", self.server, self.port, exc)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False)
            self.executor = None

    def counters(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "queued": self.queued, "dropped": self.dropped}


__all__ = ["Mailer", "build_message"]
