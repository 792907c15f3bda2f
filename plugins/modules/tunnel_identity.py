#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to bonded.openvpn
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: tunnel_identity
short_description: Host key, self-signed certificate and tls-crypt keys for bonded OpenVPN
description:
  - Makes the host's EC P-256 private key and self-signed certificate on the host itself, so
    the private key never travels; peers pin the certificate by its SHA-256 fingerprint.
  - Makes one tls-crypt key per bond that this host serves (C(openvpn --genkey tls-crypt)).
  - Existing keys are kept; set O(rotate=true) to replace them.
  - Returns fingerprints and digests only, never key material.
version_added: 0.1.0
author: bonded.openvpn maintainers (@bonded)
requirements:
  - openssl
  - openvpn (C(openvpn --genkey))
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - bonded.openvpn.config_dir
options:
  common_name:
    description: Subject CN of a newly made certificate (informational; peers pin the fingerprint).
    type: str
    required: true
  served_bonds:
    description: Names of the bonds this host is the server of; each gets a tls-crypt key.
    type: list
    elements: str
    default: []
  rotate:
    description: Replace the host key and certificate and the served bonds' tls-crypt keys.
    type: bool
    default: false
  state:
    description:
      - V(present) makes what is missing; V(absent) deletes the host key and certificate
        (for a host left with no bond; tls-crypt keys are removed with their bonds by
        M(bonded.openvpn.tunnel_instances)).
    type: str
    choices: [present, absent]
    default: present
  valid_days:
    description: Validity of a newly made certificate.
    type: int
    default: 3650
  preserve:
    description:
      - Bonds to leave exactly as they are (for bonds whose peer cannot be reached in this run);
        their tls-crypt keys are not made, rotated or removed even when O(served_bonds) names them.
      - While any bond is preserved, the host key and certificate are neither rotated nor
        deleted (a preserved bond's peer pins the current certificate); a warning says so.
    type: list
    elements: str
    default: []
attributes:
  check_mode:
    support: full
    details: Reports what it would make, write, start, restart or remove, and does none of it.
  diff_mode:
    support: full
  platform:
    platforms: posix
    details: The diff shows fingerprints and digests, never key material.
"""

EXAMPLES = r"""
- name: Ensure this host's identity and the tls-crypt keys of the bonds it serves
  bonded.openvpn.tunnel_identity:
    common_name: "{{ inventory_hostname }}"
    served_bonds: [paris, berlin]
  register: identity
"""

RETURN = r"""
fingerprint:
  description: SHA-256 fingerprint of the host certificate, C(AB:CD:...); null in check mode before it exists.
  returned: always
  type: str
tls_crypt:
  description: Per served bond, whether its key exists and the key's SHA-256 digest.
  returned: always
  type: dict
  sample: {"paris": {"present": true, "sha256": "9f2c..."}}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._host.files import (
    discard, place, read_bytes as _read, temporary_path)
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn.instance_config import (
    digest, identity_paths, tls_crypt_path)
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn.pem import certificate_fingerprint
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import safe_text


def _run_private(module, argv):
    """Runs a key generator with a umask that keeps whatever it writes private."""
    old_umask = os.umask(0o077)
    try:
        return module.run_command(argv)
    finally:
        os.umask(old_umask)


def _make_identity(module, key_path, cert_path):
    openssl = module.get_bin_path("openssl", required=True)
    tmp_key, tmp_cert = temporary_path(key_path), temporary_path(cert_path)
    try:
        rc, dummy, err = _run_private(module, [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", str(module.params["valid_days"]), "-subj", "/CN=%s" % module.params["common_name"],
            "-keyout", tmp_key, "-out", tmp_cert])
        if rc != 0:
            module.fail_json(msg="openssl could not make the host key in %s: %s; the host key and certificate were left as they were"
                             % (os.path.dirname(key_path), err.strip()))
        # Key first: a run cut off between the two leaves a pair that does not match,
        # which the next run detects (key_matches_certificate) and replaces.
        place(module, tmp_key, key_path, 0o600)
        place(module, tmp_cert, cert_path, 0o644)
    finally:
        discard(tmp_key)
        discard(tmp_cert)


def _public_key(module, argv):
    rc, out, _err = module.run_command(argv)
    return out.strip() if rc == 0 and out.strip() else None


def key_matches_certificate(module, key_path, cert_path):
    """True when the private key is the one the certificate was made for."""
    openssl = module.get_bin_path("openssl", required=True)
    from_key = _public_key(module, [openssl, "pkey", "-pubout", "-in", key_path])
    from_cert = _public_key(module, [openssl, "x509", "-noout", "-pubkey", "-in", cert_path])
    return from_key is not None and from_key == from_cert


def _make_tls_crypt(module, path):
    openvpn = module.get_bin_path("openvpn", required=True)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o750)
    tmp = temporary_path(path)
    try:
        rc, dummy, err = _run_private(module, [openvpn, "--genkey", "tls-crypt", tmp])
        if rc != 0:
            module.fail_json(msg="openvpn --genkey tls-crypt failed for %s: %s; the key was not written"
                             % (path, err.strip()))
        place(module, tmp, path, 0o600)
    finally:
        discard(tmp)


def remove_identity(module, result):
    key_path, cert_path = identity_paths(module.params["config_dir"])
    present = [path for path in (key_path, cert_path) if os.path.exists(path)]
    if not present:
        return
    result["changed"] = True
    result["diff"]["before"]["fingerprint"] = certificate_fingerprint(_read(cert_path))
    result["diff"]["after"]["fingerprint"] = None
    if not module.check_mode:
        for path in present:
            os.unlink(path)


def ensure_identity(module, result, keep=False):
    key_path, cert_path = identity_paths(module.params["config_dir"])
    cert = _read(cert_path)
    have = cert is not None and os.path.exists(key_path)
    before = certificate_fingerprint(cert) if have else None
    if have and (keep or not module.params["rotate"]):
        if key_matches_certificate(module, key_path, cert_path):
            result["fingerprint"] = before
            return
        module.warn("%s does not belong to %s (a run cut off between writing them, or a hand edit); "
                    "made a new pair, so the peers pin the new certificate" % (key_path, cert_path))
    result["changed"] = True
    result["diff"]["before"]["fingerprint"] = before
    if module.check_mode:
        result["fingerprint"] = None
        result["diff"]["after"]["fingerprint"] = "(new key made on apply)"
        return
    _make_identity(module, key_path, cert_path)
    result["fingerprint"] = certificate_fingerprint(_read(cert_path))
    result["diff"]["after"]["fingerprint"] = result["fingerprint"]


def ensure_tls_crypt(module, result, bond):
    path = tls_crypt_path(module.params["config_dir"], bond)
    key = _read(path)
    if key is not None and not module.params["rotate"]:
        result["tls_crypt"][bond] = {"present": True, "sha256": digest(key)}
        return
    result["changed"] = True
    result["diff"]["before"]["tls_crypt_" + bond] = digest(key) if key is not None else None
    if module.check_mode:
        result["tls_crypt"][bond] = {"present": key is not None, "sha256": None}
        result["diff"]["after"]["tls_crypt_" + bond] = "(new key made on apply)"
        return
    _make_tls_crypt(module, path)
    new_digest = digest(_read(path))
    result["tls_crypt"][bond] = {"present": True, "sha256": new_digest}
    result["diff"]["after"]["tls_crypt_" + bond] = new_digest


def _keep_identity_for(module):
    """Warns and returns True when rotating or deleting the host key would cut off preserved bonds."""
    preserve = module.params["preserve"]
    wanted = "rotated" if module.params["rotate"] else "deleted" if module.params["state"] == "absent" else None
    if not preserve or wanted is None:
        return False
    module.warn("host key and certificate not %s: bonds %s are preserved and their peers pin the current "
                "certificate; run again when their peers are reachable" % (wanted, ", ".join(sorted(preserve))))
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type="path", default=layout.CONFIG_DIR),
            common_name=dict(type="str", required=True),
            served_bonds=dict(type="list", elements="str", default=[]),
            rotate=dict(type="bool", default=False),
            valid_days=dict(type="int", default=3650),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            preserve=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    try:
        # The name goes into openssl's -subj, where '/', '+' and '=' start new attributes.
        safe_text.shaped("common_name", module.params["common_name"], safe_text.NAME, "a host name", "-subj")
    except safe_text.UnsafeValue as error:
        module.fail_json(msg="%s; no key or certificate was made" % error)
    identity_dir = os.path.dirname(identity_paths(module.params["config_dir"])[0])
    if not os.path.isdir(identity_dir) and not module.check_mode:
        module.fail_json(msg="%s does not exist; apply the bonded.openvpn.install role first" % identity_dir)
    result = dict(changed=False, fingerprint=None, tls_crypt={}, diff=dict(before={}, after={}))
    keep_identity = _keep_identity_for(module)
    if module.params["state"] == "absent":
        if not keep_identity:
            remove_identity(module, result)
        module.exit_json(**result)
    ensure_identity(module, result, keep=keep_identity)
    for bond in module.params["served_bonds"]:
        if bond not in module.params["preserve"]:
            ensure_tls_crypt(module, result, bond)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
