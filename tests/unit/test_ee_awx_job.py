"""What lab/ee/prove reads in an AWX job's events (lab/ee/awx_job.py): the recap, the tasks,
and any warning, wherever ansible printed it."""
import lab_ee

awx_job = lab_ee.load("awx_job")

TASK = {"name": "bonded.openvpn.bonded_openvpn_install : Install OpenVPN", "task": "Install OpenVPN",
        "task_uuid": "t1", "resolved_action": "ansible.builtin.apt"}
FLUSH = {"name": "bonded.openvpn.bonded_openvpn_balance : Flush", "task": "Flush", "task_uuid": "t2",
         "resolved_action": "ansible.builtin.meta"}


def event(counter, kind, stdout="", **event_data):
    return {"counter": counter, "event": kind, "stdout": stdout, "event_data": event_data}


def job(*extra):
    stats = {"ok": {"hub": 3, "spoke": 3}, "changed": {"hub": 1}, "failures": {}, "dark": {}, "skipped": {}}
    return [
        {"counter": 1, "event": "verbose", "stdout": "Identity added: ssh_key_data"},  # no event_data
        event(2, "playbook_on_task_start", **TASK),
        event(3, "runner_on_ok", host="hub", task_uuid="t1", res={"changed": True}),
        event(4, "runner_on_ok", host="spoke", task_uuid="t1", res={"changed": False}),
        event(5, "playbook_on_task_start", **FLUSH),
    ] + list(extra) + [event(99, "playbook_on_stats", **stats)]


def test_a_clean_job_has_its_recap_its_tasks_and_no_warning():
    seen = awx_job.summary(job())
    assert seen["recap"]["hub"]["changed"] == 1 and seen["recap"]["spoke"]["changed"] == 0
    assert seen["tasks"] == [TASK["name"], FLUSH["name"]]
    assert seen["silent"] == [] and seen["warnings"] == [] and seen["has_stats"]


def test_a_python_warning_in_the_output_is_found():
    line = ("/usr/local/lib/python3.11/dist-packages/ansible/_internal/_ssh/_ssh_agent.py:18: "
            "CryptographyDeprecationWarning: DSA is deprecated and support will be removed")
    seen = awx_job.summary(job({"counter": 6, "event": "verbose", "stdout": line}))
    assert seen["warnings"] == [line]


def test_an_ansible_warning_or_deprecation_is_found():
    seen = awx_job.summary(job(event(6, "verbose", "[WARNING]: Could not match supplied host pattern"),
                               event(7, "runner_on_ok", host="hub", task_uuid="t1", task="Install OpenVPN",
                                     resolved_role="bonded.openvpn.bonded_openvpn_install",
                                     res={"deprecations": [{"msg": "old option"}]})))
    assert seen["warnings"][0] == "[WARNING]: Could not match supplied host pattern"
    assert seen["warnings"][1].startswith(TASK["name"] + ": deprecations: ")


def test_a_task_that_reported_on_no_host_is_named():
    orphan = {**TASK, "name": "Converge", "task_uuid": "t3"}
    assert awx_job.summary(job(event(6, "playbook_on_task_start", **orphan)))["silent"] == ["Converge"]


def test_tasks_are_read_from_list_tasks_output():
    output = ("\nplaybook: site.yml\n\n  play #1 (all): Plan\tTAGS: []\n    tasks:\n"
              "      Plan every bond\tTAGS: []\n      bonded.openvpn.bonded_openvpn_install : Install OpenVPN\tTAGS: []\n")
    assert awx_job.listed_tasks(output) == ["Plan every bond", TASK["name"]]
