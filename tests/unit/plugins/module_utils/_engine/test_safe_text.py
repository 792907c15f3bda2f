"""The writers' last guard: values that would change what a config line, an nft table or a
command means are refused where they are written, even if the planner let them through."""
import copy
import time

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import render
from ansible_collections.bonded.openvpn.plugins.module_utils._openvpn import instance_config
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import safe_text as safe

from balance_fixtures import ALL_UP, SIDE, spec

HOSTILE = ["a b", "a\nb", "a\rb", "a\tb", "a\x00b", "a#b", "a;b", 'a"b', "a'b", "a{b", "a}b", "a\\b", "a$b", "",
           "a\u2028b", "\u0430", "a\u200bb"]
SETTINGS = dict(config_dir="/etc/openvpn/bonded", runtime_dir="/run/bonded-openvpn", user="u", group="g",
                ciphers=["AES-256-GCM"], keepalive=[2, 10], socket_buffer=4194304, verb=3, managed="managed",
                peer_fingerprint="AA:BB", identity_digest="i" * 64, tls_crypt_digest="t" * 64)


@pytest.mark.parametrize("value", ["vpn.example.net", "203.0.113.10", "2001:db8::1", "/etc/openvpn/x.key",
                                   "AES-256-GCM", "AB:CD:EF", "bo-paris-0", 1194])
def test_a_word_passes_unchanged(value):
    assert safe.word("field", value) == str(value)


@pytest.mark.parametrize("value", HOSTILE + [None, True, 1.5, ["a"], {"a": 1}, {"a"}])
def test_anything_else_is_refused_as_a_word_naming_the_field(value):
    with pytest.raises(safe.UnsafeValue, match="refusing to write remote"):
        safe.word("remote", value)


@pytest.mark.parametrize("value", ["a\nb", "a\rb", "a\tb", "a\x00b", "a\u2028b", "a\x1bb", 5])
def test_a_line_of_text_stays_one_printable_line(value):
    with pytest.raises(safe.UnsafeValue):
        safe.line("managed marker", value)
    marker = "Ansible managed: by bonded.openvpn #1"
    assert safe.line("managed marker", marker) == marker


def test_argv_elements_may_hold_spaces_but_not_newlines():
    assert safe.argv(["ip", "-batch", "-"]) == ["ip", "-batch", "-"]
    with pytest.raises(safe.UnsafeValue, match="argument"):
        safe.argv(["ip", "route add 10.0.0.0/8\nroute flush"])


@pytest.mark.parametrize("value", [True, 1.9, "3"])
def test_integers_are_integers(value):
    with pytest.raises(safe.UnsafeValue, match="expected an integer"):
        safe.integer("verb", value)


def side(**changes):
    result = copy.deepcopy(SIDE)
    result.update(changes)
    return result


@pytest.mark.parametrize("remote", ["203.0.113.10\nscript-security 2\nup /tmp/x.sh\n#", "vpn #", "vpn.example.net\n"])
def test_the_config_renderer_refuses_a_remote_that_would_add_directives(remote):
    with pytest.raises(safe.UnsafeValue, match="refusing to write remote"):
        instance_config.render(side(remote=remote), SIDE["tunnels"][0], SETTINGS)


@pytest.mark.parametrize("setting, value", [("managed", "x\nup /tmp/x.sh"), ("user", "root\ngroup root"),
                                            ("ciphers", ["AES-256-GCM\nauth none"]), ("verb", 3.5),
                                            ("config_dir", "/etc/open vpn")])
def test_the_config_renderer_refuses_settings_that_would_add_directives(setting, value):
    with pytest.raises(safe.UnsafeValue):
        instance_config.render(SIDE, SIDE["tunnels"][0], dict(SETTINGS, **{setting: value}))


def test_check_mode_placeholders_still_render():
    text = instance_config.render(SIDE, SIDE["tunnels"][0],
                                  dict(SETTINGS, peer_fingerprint="(peer certificate made on apply)"))
    assert "peer-fingerprint (peer certificate made on apply)\n" in text


@pytest.mark.parametrize("change", [
    {"bond": "paris }\ntable ip filter {"}, {"peer_networks": ["192.168.1.0/24 } ; flush ruleset"]},
    {"peer_bundle": "10.255.1.254\n"}, {"balance": "packet; flush"}, {"role": "client\n"},
])
def test_the_data_path_renderer_refuses_values_that_would_add_statements(change):
    with pytest.raises(safe.UnsafeValue, match="the data path"):
        render.render_nft(spec(**change), None)
    with pytest.raises(safe.UnsafeValue):
        render.desired(spec(**change), None, ALL_UP)


def test_the_data_path_renderer_refuses_a_tunnel_interface_with_a_space():
    broken = spec()
    broken["tunnels"][0]["interface"] = "bo-paris-0 nexthop dev eth0"
    with pytest.raises(safe.UnsafeValue, match="interface"):
        render.desired(broken, None, ALL_UP)


def test_a_huge_map_is_refused_at_once_not_built():
    weights = [10 ** 9, 10 ** 9 + 1, 1, 1]
    start = time.process_time()
    with pytest.raises(safe.UnsafeValue, match="nft map of 2000000003 entries"):
        render.spread_slots(list(enumerate(weights)))
    assert time.process_time() - start < 0.1
