# -*- coding: utf-8 -*-
"""Guards for the writers: every value that goes into a config file, an nftables table or
a command is checked here once more, right where it is written.

The planner already rejects bad inventory values with a message naming bond and field;
these guards are the second line, so that a field added later without a planner rule
cannot smuggle a newline (a new OpenVPN directive), a space (a new ``ip`` argument) or a
brace (a new nftables statement) onto a host. A failure here is a bug in the planner's
checks, and the message says so.

Standard library only: also installed on the host for the watchdog.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# One word of a config line or an argv: names, paths, addresses, ciphers, fingerprints.
# No whitespace, quotes, '#', ';', braces, '\\' or '$': each of those means something to
# OpenVPN's, nft's or a shell's parser.
WORD = re.compile(r"[A-Za-z0-9_.:/@%+=,-]+", re.ASCII)
# Stricter shapes for values that nftables and ip parse as names or addresses.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*", re.ASCII)
IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}", re.ASCII)
IPV4_NETWORK = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2}", re.ASCII)
# Hex digits and colons only (the planner writes IPv6 in RFC 5952 form, no embedded IPv4).
IPV6 = re.compile(r"[0-9a-f:]{2,39}", re.ASCII)
IPV6_NETWORK = re.compile(r"[0-9a-f:]{2,39}/[0-9]{1,3}", re.ASCII)


class UnsafeValue(ValueError):
    """A value holds characters that would change the meaning of what is written."""


def _refuse(field, value, why, where):
    raise UnsafeValue("refusing to write %s %r into %s: %s; the planner should have rejected it, "
                      "report this as a bug in bonded.openvpn" % (field, value, where, why))


def word(field, value, where="a config line"):
    """``value`` (str, or int) as one word; raises UnsafeValue otherwise."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        _refuse(field, value, "expected a string or an integer", where)
    text = str(value)
    if not WORD.fullmatch(text):
        _refuse(field, value, "it holds whitespace, a control character or a character the parser treats "
                "specially (only letters, digits and _.:/@%+=,- may appear)", where)
    return text


def shaped(field, value, pattern, expected, where="a config line"):
    """``value`` when it is a string fully matching ``pattern`` (``expected`` says what that is)."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        _refuse(field, value, "expected %s" % expected, where)
    return value


def integer(field, value, where="a config line"):
    """``value`` when it is an int; "%d" would quietly truncate a float or read a bool."""
    if isinstance(value, bool) or not isinstance(value, int):
        _refuse(field, value, "expected an integer", where)
    return value


def words(field, values, where="a config line"):
    return [word(field, value, where) for value in values]


def line(field, value, where="a config line"):
    """Free text that must stay on one line (a comment): spaces allowed, nothing that is
    not printable (newline, carriage return, tab, NUL, U+2028...)."""
    if not isinstance(value, str):
        _refuse(field, value, "expected a string", where)
    if not value.isprintable():
        _refuse(field, value, "it holds a control character or a line separator", where)
    return value


def argv(values, where="a command"):
    """A command's argv: every element a printable string. Elements are not split by a
    shell, so spaces are allowed; a newline would still start a new line of ``-batch``
    input, so it is not."""
    if not isinstance(values, (list, tuple)):
        _refuse("argv", values, "expected a list", where)
    return [line("argument", value, where) for value in values]
