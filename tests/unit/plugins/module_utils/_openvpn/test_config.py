import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import config as openvpn_config


@pytest.mark.parametrize("name", ["paris-0\n", "paris\n-0", "p\u0430ris-0", "paris-\u0661", "paris-0 ", " paris-0"])
def test_a_name_with_a_newline_or_a_look_alike_is_not_an_instance(name):
    # Such a file in instances/ is not one the collection wrote: never a unit name.
    assert openvpn_config.split_instance(name) is None
