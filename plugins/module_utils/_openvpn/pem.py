# -*- coding: utf-8 -*-
"""Certificate fingerprints without third-party crypto libraries on the managed host."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import re

PEM_CERTIFICATE = re.compile(br"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def certificate_fingerprint(pem):
    """SHA-256 of the first certificate's DER bytes, as OpenVPN's peer-fingerprint wants it."""
    if isinstance(pem, str):
        pem = pem.encode("ascii")
    match = PEM_CERTIFICATE.search(pem or b"")
    if not match:
        return None
    der = base64.b64decode(b"".join(match.group(1).split()))
    hexdigest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(hexdigest[i:i + 2] for i in range(0, len(hexdigest), 2))
