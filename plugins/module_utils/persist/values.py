# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed checks for every value a persistence writer puts into a file (pure, no I/O).

The writers (rc.local, ifcfg, ifupdown, networkd) call these themselves, whoever calls them:
a value reaches a file only as the canonical text of a checked type (an interface name, an
address without zone index, a prefix, a netmask, a MAC address, a label), and no value may
hold a control character or a line separator (\\n \\r \\v \\f \\x1c-\\x1e \\x85 \\u2028 \\u2029 ...),
so no value can start a line of its own. Errors are PersistError and never echo raw control
characters (inet.safe_repr).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
import unicodedata
from typing import Optional

from ..inet import IFNAMSIZ, LABEL_SUFFIX_RE, ifname_error, is_ascii, safe_repr
from .atomic import PersistError

# Unicode categories refused inside any value: controls (incl. \t \n \r \v \f \x1c-\x1f \x85),
# format characters (bidi overrides, zero-width), line and paragraph separators.
UNSAFE_CATEGORIES = ("Cc", "Cf", "Zl", "Zp", "Cs")
MAC_RE = re.compile(r"\A[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}\Z")
DIGITS_RE = re.compile(r"\A[0-9]{1,3}\Z")


def unsafe_char(text: str) -> Optional[str]:
    """The first control/format character or line separator in text, else None."""
    for char in text:
        if unicodedata.category(char) in UNSAFE_CATEGORIES:
            return char
    return None


def one_line(value, what: str) -> str:
    """value as text that cannot break out of its line (str only)."""
    if not isinstance(value, str):
        raise PersistError("%s must be text, not %s" % (what, type(value).__name__))
    char = unsafe_char(value)
    if char is not None:
        raise PersistError("%s %s holds a control character or line separator (%s)"
                           % (what, safe_repr(value), safe_repr(char)))
    return value


def ifname(value, what: str = "interface") -> str:
    problem = ifname_error(value)
    if problem:
        raise PersistError("%s: %s" % (what, problem))
    return value


def label(value, what: str = "label") -> str:
    """An interface name or an address label `IFNAME:suffix` (at most 15 characters)."""
    if not isinstance(value, str):
        raise PersistError("%s must be text, not %s" % (what, type(value).__name__))
    base, sep, suffix = value.partition(":")
    if ifname_error(base) is None and (not sep or LABEL_SUFFIX_RE.match(suffix)) and len(value) <= IFNAMSIZ - 1:
        return value
    raise PersistError("%s: invalid label %s (an interface name, optionally ':' and letters, digits or '_ . - @',"
                       " at most %d characters)" % (what, safe_repr(value), IFNAMSIZ - 1))


def _family_check(value, version, family, what):
    if family and version != family:
        raise PersistError("%s %s is not an IPv%d address" % (what, safe_repr(value), family))


def interface(value, family: Optional[int] = None, what: str = "address"):
    """`A/len` (ipaddress interface object or text) -> ip_interface; no zone index (`%eth0`), no spaces."""
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise PersistError("%s must be text, not %s" % (what, type(value).__name__))
    if "%" in text or not is_ascii(text) or unsafe_char(text) is not None or text != text.strip():
        raise PersistError("malformed %s %s" % (what, safe_repr(value)))
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise PersistError("malformed %s %s" % (what, safe_repr(value)))
    _family_check(value, iface.version, family, what)
    return iface


def address(value, family: Optional[int] = None, what: str = "address"):
    """A bare IP address (text or ipaddress object) -> ip_address; no zone index."""
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        text = str(value)
    elif isinstance(value, str):
        text = value
    else:
        raise PersistError("%s must be text, not %s" % (what, type(value).__name__))
    if "%" in text or "/" in text or not is_ascii(text) or unsafe_char(text) is not None or text != text.strip():
        raise PersistError("malformed %s %s" % (what, safe_repr(value)))
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        raise PersistError("malformed %s %s" % (what, safe_repr(value)))
    _family_check(value, ip.version, family, what)
    return ip


def mac(value, what: str = "hwaddr") -> str:
    """aa:bb:cc:dd:ee:ff -> upper case."""
    if not isinstance(value, str) or not MAC_RE.match(value):
        raise PersistError("%s %s is not a MAC address (xx:xx:xx:xx:xx:xx)" % (what, safe_repr(value)))
    return value.upper()


def prefix(value, family: int, what: str = "prefix") -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not DIGITS_RE.match(text) or int(text) > (32 if family == 4 else 128):
        raise PersistError("%s %s is not an IPv%d prefix length" % (what, safe_repr(value), family))
    return str(int(text))
