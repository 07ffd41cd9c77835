# -*- coding: utf-8 -*-
# Copyright: floating.vip developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record: the part of @dataclass the static-VIP code uses (init, eq, repr), also on Python 3.6.

RHEL 8's platform Python is 3.6, which has no `dataclasses`; vip_alias and vip_secondary run there
(docs/development.md, "Supported Pythons"). A subclass lists FIELDS in order and DEFAULTS by name (a
class or function there is a factory, called for each new record, as dataclasses' default_factory).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class Record(object):
    FIELDS = ()
    DEFAULTS = {}

    def __init__(self, *args, **kwargs):
        if len(args) > len(self.FIELDS):
            raise TypeError("%s takes at most %d arguments" % (type(self).__name__, len(self.FIELDS)))
        values = dict(zip(self.FIELDS, args))
        for name, value in kwargs.items():
            if name not in self.FIELDS or name in values:
                raise TypeError("%s: unexpected or repeated argument %r" % (type(self).__name__, name))
            values[name] = value
        for name in self.FIELDS:
            if name not in values:
                if name not in self.DEFAULTS:
                    raise TypeError("%s: missing argument %r" % (type(self).__name__, name))
                default = self.DEFAULTS[name]
                values[name] = default() if callable(default) else default
            setattr(self, name, values[name])

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.FIELDS)

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None  # mutable, compared by value: unhashable, as a dataclass with eq

    def __repr__(self):
        return "%s(%s)" % (type(self).__name__, ", ".join("%s=%r" % (n, getattr(self, n)) for n in self.FIELDS))
