"""tunnel_identity in the crypto pattern: check mode, apply, idempotence in check mode,
idempotence; then rotation and removal. Uses the real openssl CLI on a temporary tree."""
import json
import os
import stat

import pytest

from ansible_collections.bonded.openvpn.plugins.modules import tunnel_identity

from module_run import run_module


def run(capsys, config_dir, check=False, **params):
    args = {"config_dir": str(config_dir), "common_name": "hq1", "_ansible_check_mode": check,
            "_ansible_diff": True}
    args.update(params)
    return run_module(capsys, tunnel_identity.main, args)


@pytest.fixture
def config_dir(tmp_path):
    (tmp_path / "identity").mkdir(mode=0o700)
    return tmp_path


def key_path(config_dir):
    return config_dir / "identity" / "host.key"


def test_check_mode_reports_a_new_key_and_makes_none(capsys, config_dir):
    result = run(capsys, config_dir, check=True)
    assert result["changed"] and result["fingerprint"] is None
    assert not key_path(config_dir).exists()


def test_apply_makes_a_private_key_only_root_can_read(capsys, config_dir):
    result = run(capsys, config_dir)
    assert result["changed"] and len(result["fingerprint"].split(":")) == 32
    assert stat.S_IMODE(os.stat(key_path(config_dir)).st_mode) == 0o600
    assert "PRIVATE KEY" not in json.dumps(result)


def test_rerun_in_check_mode_and_for_real_changes_nothing(capsys, config_dir):
    first = run(capsys, config_dir)
    assert not run(capsys, config_dir, check=True)["changed"]
    again = run(capsys, config_dir)
    assert not again["changed"] and again["fingerprint"] == first["fingerprint"]


def test_rotate_replaces_the_key_and_diff_shows_fingerprints_only(capsys, config_dir):
    first = run(capsys, config_dir)
    rotated = run(capsys, config_dir, rotate=True)
    assert rotated["changed"] and rotated["fingerprint"] != first["fingerprint"]
    assert rotated["diff"]["before"]["fingerprint"] == first["fingerprint"]
    assert "PRIVATE KEY" not in json.dumps(rotated)


def test_absent_deletes_the_identity_once(capsys, config_dir):
    run(capsys, config_dir)
    assert run(capsys, config_dir, check=True, state="absent")["changed"]
    assert key_path(config_dir).exists()
    assert run(capsys, config_dir, state="absent")["changed"]
    assert not key_path(config_dir).exists()
    assert not run(capsys, config_dir, state="absent")["changed"]


def run_failing(capsys, config_dir, **params):
    args = {"config_dir": str(config_dir), "common_name": "hq1"}
    args.update(params)
    return run_module(capsys, tunnel_identity.main, args, 1)


def debris(config_dir):
    return [str(path) for path in config_dir.rglob("*.tmp")]


def test_files_get_their_modes_before_they_appear_and_no_temporary_file_stays(capsys, config_dir):
    run(capsys, config_dir, served_bonds=[])
    cert = config_dir / "identity" / "host.crt"
    assert stat.S_IMODE(os.stat(str(cert)).st_mode) == 0o644
    assert sorted(os.listdir(str(config_dir / "identity"))) == ["host.crt", "host.key"] and not debris(config_dir)


def test_a_key_that_does_not_match_its_certificate_is_replaced_by_a_new_pair(capsys, config_dir, tmp_path_factory):
    first = run(capsys, config_dir)
    other = tmp_path_factory.mktemp("other")
    (other / "identity").mkdir()
    run(capsys, other)
    # What a run cut off between placing the key and the certificate leaves behind.
    key_path(config_dir).write_bytes(key_path(other).read_bytes())
    checked = run(capsys, config_dir, check=True)
    assert checked["changed"] and "does not belong" in json.dumps(checked["warnings"])
    repaired = run(capsys, config_dir)
    assert repaired["changed"] and repaired["fingerprint"] not in (first["fingerprint"], None)
    assert not run(capsys, config_dir)["changed"]


def test_a_failed_key_generation_changes_nothing_and_leaves_no_debris(capsys, config_dir, monkeypatch):
    first = run(capsys, config_dir)
    before = dict((p.name, p.read_bytes()) for p in (config_dir / "identity").iterdir())
    real = tunnel_identity.AnsibleModule.run_command

    def failing(self, argv, *args, **kwargs):
        if "req" in argv:
            open(argv[argv.index("-keyout") + 1], "w").write("half a key")
            return 1, "", "unable to write 'random state'"
        return real(self, argv, *args, **kwargs)
    monkeypatch.setattr(tunnel_identity.AnsibleModule, "run_command", failing)
    result = run_failing(capsys, config_dir, rotate=True)
    assert "random state" in result["msg"] and "the host key and certificate were left as they were" in result["msg"]
    assert dict((p.name, p.read_bytes()) for p in (config_dir / "identity").iterdir()) == before
    assert not debris(config_dir) and run(capsys, config_dir)["fingerprint"] == first["fingerprint"]


@pytest.mark.parametrize("name", ["hq1/O=evil", "hq1+CN=other", "hq1\n", "", "-hq1"])
def test_a_common_name_that_would_change_the_subject_is_refused_before_anything_is_made(capsys, config_dir, name):
    args = {"config_dir": str(config_dir), "common_name": name, "_ansible_check_mode": False}
    result = run_module(capsys, tunnel_identity.main, args, 1)
    assert "common_name" in result["msg"] and "no key or certificate was made" in result["msg"]
    assert not key_path(config_dir).exists()
