# -*- coding: utf-8 -*-
"""Small file helpers the modules share."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


def read_bytes(path):
    """The file's bytes, or None when it does not exist or cannot be read."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError):
        return None
