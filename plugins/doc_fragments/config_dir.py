# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The tree that docs/layout.md describes, as every module that reads or writes it
    # documents it. The defaults are the layout's (module_utils/_engine/layout.py):
    # tests/unit/test_layout_doc.py holds each one equal to it, as it does the modules' own.
    DOCUMENTATION = r"""
options:
  config_dir:
    description: Root of the collection's OpenVPN files on the host (docs/layout.md).
    type: path
    default: /etc/openvpn/bonded
"""

    BALANCE = r"""
options:
  metrics_dir:
    description:
      - Where each watchdog writes its Prometheus text file C(bonded_openvpn_<bond>.prom) (node_exporter's
        textfile collector directory). An empty string writes none; the figures are in
        C(<run_dir>/<bond>.metrics.json) either way.
    type: str
    default: /var/lib/prometheus/node-exporter
  config_dir:
    description: Where the per-bond specs live.
    type: path
    default: /etc/openvpn/bonded/balance
  run_dir:
    description: Where the watchdogs write the live sets (C(<bond>.live)) and nftables snapshots.
    type: path
    default: /run/bonded-openvpn/balance
  lib_dir:
    description: Where the watchdog's Python package C(bonded_openvpn_balance) is installed.
    type: path
    default: /usr/local/lib/bonded-openvpn
"""
