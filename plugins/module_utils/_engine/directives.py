# -*- coding: utf-8 -*-
"""Reads an OpenVPN config into its directives.

Parsing follows OpenVPN's own rules closely enough for the configs this collection writes
and for hand edits: one directive per line, ``#`` or ``;`` starts a comment at a token
boundary, double quotes group words, inline ``<tag>…</tag>`` blocks are read as the
directive ``tag`` with each non-empty line as one argument.

Standard library only: the modules read instance configs with it, and so does the watchdog on
the host (whether a bond's configs turn DCO off, dco.read_bond).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

INLINE_OPEN = re.compile(r"<(?P<tag>[a-z0-9-]+)>", re.ASCII)


def _tokens(line):
    lexer = shlex.shlex(line, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    tokens = []
    for token in lexer:
        if token[:1] in ("#", ";"):
            break
        tokens.append(token)
    return tokens


def parse_directives(text):
    """Returns ``{directive: [args, ...]}`` with one args list per occurrence, in order."""
    directives, inline = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if inline is not None:
            if line == "</%s>" % inline:
                inline = None
            elif line:
                directives[inline][-1].append(line)
            continue
        opening = INLINE_OPEN.fullmatch(line)
        if opening:
            inline = opening.group("tag")
            directives.setdefault(inline, []).append([])
            continue
        try:
            tokens = _tokens(line)
        except ValueError:  # an unbalanced quote: OpenVPN rejects the line, so do we
            tokens = []
        if tokens:
            name = tokens[0].lstrip("-")
            directives.setdefault(name, []).append(tokens[1:])
    return directives
