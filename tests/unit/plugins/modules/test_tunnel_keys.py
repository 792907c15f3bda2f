"""tunnel_keys reads a server's tls-crypt keys for its clients: every key asked for that
exists, the missing ones named, nothing outside the bonds' directories."""
import pytest

from ansible_collections.bonded.openvpn.plugins.modules import tunnel_keys

from module_run import run_module

KEY = "-----BEGIN OpenVPN Static key V1-----\n00112233\n-----END OpenVPN Static key V1-----\n"


def run(capsys, config_dir, bonds, check=False, rc=0):
    args = {"config_dir": str(config_dir), "bonds": bonds, "_ansible_check_mode": check}
    return run_module(capsys, tunnel_keys.main, args, rc)


@pytest.fixture
def config_dir(tmp_path):
    for bond, text in (("paris", KEY), ("berlin", KEY.replace("00", "ff"))):
        (tmp_path / "bonds" / bond).mkdir(parents=True)
        (tmp_path / "bonds" / bond / "tls-crypt.key").write_text(text)
    return tmp_path


@pytest.mark.parametrize("check", [False, True])
def test_reads_each_key_asked_for_and_changes_nothing(capsys, config_dir, check):
    result = run(capsys, config_dir, ["paris", "berlin"], check=check)
    assert result["changed"] is False
    assert result["tls_crypt"] == {"paris": KEY, "berlin": KEY.replace("00", "ff")}
    assert result["missing"] == []


def test_a_bond_not_asked_for_is_not_returned(capsys, config_dir):
    assert list(run(capsys, config_dir, ["berlin"])["tls_crypt"]) == ["berlin"]


def test_a_bond_without_a_key_yet_is_named_missing(capsys, config_dir):
    result = run(capsys, config_dir, ["paris", "rome"])
    assert list(result["tls_crypt"]) == ["paris"] and result["missing"] == ["rome"]


@pytest.mark.parametrize("bond", ["../identity", "paris/../../etc", ".hidden", ""])
def test_a_name_that_could_leave_the_bonds_directory_fails_naming_it(capsys, config_dir, bond):
    result = run(capsys, config_dir, [bond], rc=1)
    assert "nothing was read" in result["msg"] and "tls_crypt" not in result
