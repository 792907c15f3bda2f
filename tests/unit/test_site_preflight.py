"""site.yml reads every host before any host changes: planning, then the preflight, then the roles."""
import os

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def plays():
    with open(os.path.join(ROOT, "playbooks", "site.yml")) as handle:
        return yaml.safe_load(handle)


def test_the_preflight_play_comes_after_the_planning_play_and_before_every_role():
    names = [play.get("ansible.builtin.import_playbook") or ("roles" if "roles" in play else "tasks") for play in plays()]
    assert names == ["plan.yml", "tasks", "roles"]
    assert plays()[1]["hosts"] == plays()[2]["hosts"] == "__bonded_openvpn_members"


def test_the_preflight_is_one_read_only_module_call_per_host_and_one_refusal_for_all():
    check, refuse = plays()[1]["tasks"]
    assert "bonded.openvpn.preflight" in check and not [key for key in check if key.startswith(("loop", "with_"))]
    # A host's problems must not drop it from the play before the others are read; only a host
    # where the module could not run fails alone, like a host that is down.
    assert check["failed_when"] == "__bonded_openvpn_preflight.problems is not defined"
    assert "ansible.builtin.assert" in refuse and refuse["run_once"] is True
    assert "nothing was changed on any host" in refuse["vars"]["__bonded_openvpn_preflight_header"]
