# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""DCO for the modules: the engine's detection (``_engine.dco``, which the watchdog shares on
the host) plus the one reader that needs an AnsibleModule, ``openvpn --version``."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Re-exported: the modules and their tests use these names from here.
from ansible_collections.bonded.openvpn.plugins.module_utils._engine.dco import (  # noqa: F401 pylint: disable=unused-import
    AEAD_CIPHERS, DISABLING_OPTIONS, GENL_FAMILIES, MODULE_FOR_26, MODULE_FOR_MAINLINE, disabling_options,
    genl_family_exists, host_support, interface_kind, kernel_dco_modules, parse_version, tunnel_status,
    wanted_module)


def openvpn_version_text(module, binary="openvpn"):
    """``openvpn --version`` of the host, or "" when OpenVPN is not installed."""
    path = module.get_bin_path(binary)
    if not path:
        return ""
    # Older OpenVPN releases exit 1 after printing their version: only the text counts.
    dummy, out, err = module.run_command([path, "--version"], environ_update={"LC_ALL": "C"})
    return out or err
