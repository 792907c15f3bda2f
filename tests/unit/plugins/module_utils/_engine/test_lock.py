import os

import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine import lock as balance_lock

from lock_probe import is_held


class Clock(object):
    """Time that passes only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_the_lock_is_held_inside_the_block_and_free_after_it(tmp_path):
    path = balance_lock.lock_path("paris", str(tmp_path / "run"))
    with balance_lock.held([path], 1.0):
        assert is_held(path)
    assert not is_held(path)
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


def test_a_lock_held_elsewhere_times_out_naming_the_file_and_the_wait(tmp_path):
    path = balance_lock.lock_path("paris", str(tmp_path))
    clock = Clock()
    with balance_lock.held([path], 1.0):
        with pytest.raises(balance_lock.LockTimeout, match="paris.lock is held by another process for over 2.5 s"):
            with balance_lock.held([path], 2.5, clock=clock, sleep=clock.sleep):
                pass
    assert 2.5 <= clock.now < 2.5 + 2 * balance_lock.POLL


def test_a_timeout_releases_the_locks_already_taken(tmp_path):
    first, second = (balance_lock.lock_path(bond, str(tmp_path)) for bond in ("amsterdam", "paris"))
    clock = Clock()
    with balance_lock.held([second], 1.0):
        with pytest.raises(balance_lock.LockTimeout):
            with balance_lock.held([second, first], 1.0, clock=clock, sleep=clock.sleep):
                pass
        assert not is_held(first)


def test_locks_are_taken_in_one_order_whatever_order_they_are_asked_in(tmp_path, monkeypatch):
    # Two holders of overlapping sets that took them in different orders could deadlock.
    taken = []
    real_flock = balance_lock.fcntl.flock

    def recording_flock(handle, operation):
        taken.append(os.path.basename(os.readlink("/proc/self/fd/%d" % handle)))
        return real_flock(handle, operation)

    monkeypatch.setattr(balance_lock.fcntl, "flock", recording_flock)
    paths = [balance_lock.lock_path(bond, str(tmp_path)) for bond in ("paris", "berlin", "amsterdam", "paris")]
    with balance_lock.held(paths, 1.0):
        pass
    assert taken == ["amsterdam.lock", "berlin.lock", "paris.lock"]


def test_check_mode_creates_nothing_and_skips_a_lock_nobody_has_used(tmp_path):
    path = balance_lock.lock_path("paris", str(tmp_path / "run"))
    with balance_lock.held([path], 1.0, create=False):
        pass
    assert not (tmp_path / "run").exists()


def test_check_mode_still_waits_for_a_lock_in_use(tmp_path):
    path = balance_lock.lock_path("paris", str(tmp_path))
    clock = Clock()
    with balance_lock.held([path], 1.0):
        with pytest.raises(balance_lock.LockTimeout):
            with balance_lock.held([path], 1.0, create=False, clock=clock, sleep=clock.sleep):
                pass
