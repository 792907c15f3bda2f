"""tunnel_identity with preserve: the keys of a preserved bond are not made, rotated or
removed, and the host identity its peer pins survives rotation and removal, in check mode
and for real. Uses the real openssl CLI on a temporary tree; tls-crypt keys are random bytes
(the controller has no openvpn)."""
import hashlib
import os

import pytest

from ansible_collections.bonded.openvpn.plugins.modules import tunnel_identity

from module_run import run_module


def run(capsys, config_dir, check=False, **params):
    args = {"config_dir": str(config_dir), "common_name": "hub", "_ansible_check_mode": check,
            "_ansible_diff": True}
    args.update(params)
    return run_module(capsys, tunnel_identity.main, args)


def warnings(result):
    """Warning texts (ansible-core 2.19 wraps each in a summary dict)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def snapshot(config_dir):
    """Every file under the tree with its content digest."""
    found = {}
    for directory, _dirs, files in os.walk(str(config_dir)):
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, str(config_dir))] = hashlib.sha256(handle.read()).hexdigest()
    return found


@pytest.fixture(autouse=True)
def random_tls_crypt_keys(monkeypatch):
    def make(_module, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(os.urandom(32))
    monkeypatch.setattr(tunnel_identity, "_make_tls_crypt", make)


@pytest.fixture
def deployed(capsys, tmp_path):
    """A hub serving paris and berlin, both keys made."""
    (tmp_path / "identity").mkdir(mode=0o700)
    run(capsys, tmp_path, served_bonds=["paris", "berlin"])
    return tmp_path


@pytest.mark.parametrize("check", [True, False])
def test_rotation_leaves_the_host_key_and_the_preserved_bonds_key_alone(capsys, deployed, check):
    before = snapshot(deployed)
    result = run(capsys, deployed, check=check, served_bonds=["paris", "berlin"], rotate=True, preserve=["berlin"])
    after = snapshot(deployed)
    assert after["identity/host.key"] == before["identity/host.key"]
    assert after["bonds/berlin/tls-crypt.key"] == before["bonds/berlin/tls-crypt.key"]
    assert "berlin" not in result["tls_crypt"] and "fingerprint" not in result["diff"]["after"]
    assert any("not rotated" in warning and "berlin" in warning for warning in warnings(result))


def test_rotation_still_replaces_the_keys_of_bonds_that_are_not_preserved(capsys, deployed):
    before = snapshot(deployed)
    result = run(capsys, deployed, served_bonds=["paris", "berlin"], rotate=True, preserve=["berlin"])
    assert result["changed"] and snapshot(deployed)["bonds/paris/tls-crypt.key"] != before["bonds/paris/tls-crypt.key"]


@pytest.mark.parametrize("check", [True, False])
def test_a_preserved_bond_gets_no_new_key(capsys, tmp_path, check):
    (tmp_path / "identity").mkdir(mode=0o700)
    run(capsys, tmp_path, served_bonds=["paris"])
    result = run(capsys, tmp_path, check=check, served_bonds=["paris", "berlin"], preserve=["berlin"])
    assert not result["changed"] and result["tls_crypt"] == {"paris": result["tls_crypt"]["paris"]}
    assert not (tmp_path / "bonds" / "berlin").exists()


@pytest.mark.parametrize("check", [True, False])
def test_a_host_left_with_only_preserved_bonds_keeps_its_identity(capsys, deployed, check):
    before = snapshot(deployed)
    result = run(capsys, deployed, check=check, state="absent", preserve=["berlin"])
    assert not result["changed"] and snapshot(deployed) == before
    assert any("not deleted" in warning for warning in warnings(result))


def test_without_preserve_absent_still_deletes_the_identity(capsys, deployed):
    assert run(capsys, deployed, state="absent")["changed"]
    assert not (deployed / "identity" / "host.key").exists()
