"""tunnel_identity in the crypto pattern: check mode, apply, idempotence in check mode,
idempotence; then rotation and removal. Uses the real openssl CLI on a temporary tree."""
import json
import os
import stat

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.bonded.openvpn.plugins.modules import tunnel_identity


def run(capsys, config_dir, check=False, **params):
    args = {"config_dir": str(config_dir), "common_name": "hq1", "_ansible_check_mode": check,
            "_ansible_diff": True}
    args.update(params)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            tunnel_identity.main()
    result = json.loads(capsys.readouterr().out)
    assert exited.value.code == 0, result
    return result


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
