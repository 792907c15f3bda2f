"""Kernel._out is the one door to ip and nft, for the module and the watchdog alike: a
value with a control character never gets through it, whichever caller built the command."""
import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import kernel
from ansible_collections.bonded.openvpn.plugins.module_utils._engine.safe_text import UnsafeValue


def recording_kernel():
    calls = []

    def run(argv, data=None):
        calls.append((argv, data))
        return 0, "", ""
    return kernel.Kernel(run), calls


@pytest.mark.parametrize("argv", [
    ["ip", "route", "replace", "10.0.0.0/24\nblackhole 0.0.0.0/0"],
    ["ip", "rule", "add", "pref\r5000"],
    ["nft", "list", "table", "ip", "bonded\x00x"],
])
def test_an_argument_with_a_control_character_never_runs(argv):
    krn, calls = recording_kernel()
    with pytest.raises(UnsafeValue):
        krn._out(argv)
    assert calls == []


@pytest.mark.parametrize("data", [
    "route replace 10.0.0.0/24 dev lo\rroute flush table main\n",
    u"route replace 10.0.0.0/24 dev lo\u2028route flush table main\n",
    b"add rule ip t c meta mark set 1\x1b[2J\n",
])
def test_a_batch_line_with_a_hidden_line_break_never_runs(data):
    krn, calls = recording_kernel()
    with pytest.raises(UnsafeValue):
        krn._out(["ip", "-batch", "-"], data)
    assert calls == []


def test_the_renderers_indentation_and_plain_lines_pass():
    krn, calls = recording_kernel()
    krn._out(["nft", "-f", "-"], "table ip t {\n\tchain c {\n\t\tcomment \"bond paris\"\n\t}\n}\n")
    assert len(calls) == 1
