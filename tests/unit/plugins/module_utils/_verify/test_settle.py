"""Which mismatches verify.yml waits for: live sets only, and only when nothing else is wrong."""
import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._verify import parity
from ansible_collections.bonded.openvpn.plugins.module_utils._verify import settle


def found(*fields):
    return [parity.mismatch("paris", None if field.startswith("balance") else 1, field, "c", "s", "hint")
            for field in fields]


@pytest.mark.parametrize("fields, waits", [
    (("balance_live",), True),                       # one watchdog saw tunnel 1 come back, the other not yet
    (("balance_live", "balance_live"), True),
    ((), False),                                     # nothing to wait for
    (("balance_live", "port"), False),               # a config never fixes itself: fail at once
    (("balance_live", "management"), False),
    (("balance_mode",), False),                      # the specs differ: a re-run of site.yml, not time, fixes it
    (("facts",), False),
    (("probe",), False),
])
def test_only_bonds_whose_every_mismatch_is_a_live_set_one_settle(fields, waits):
    assert settle.settling(found(*fields)) is waits


def test_the_settling_fields_are_fields_parity_reports():
    # Guards against a rename in parity leaving verify.yml waiting for a field that never comes.
    client = {"name": "paris", "role": "client", "count": 0, "host_fingerprint": "AA", "balance": {"live": [0, 1]},
              "tunnels": []}
    server = dict(client, role="server", host_fingerprint="BB", balance={"live": [0]})
    fields = set(item["field"] for item in parity.compare("paris", client, server)[1])
    assert set(settle.SETTLING_FIELDS) <= fields
