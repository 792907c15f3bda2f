# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The tree that docs/layout.md describes; every module that reads or writes it takes it
    # from here, so the default cannot drift between them.
    DOCUMENTATION = r"""
options:
  config_dir:
    description: Root of the collection's OpenVPN files on the host (docs/layout.md).
    type: path
    default: /etc/openvpn/bonded
"""
