import pytest

from ansible_collections.bonded.openvpn.plugins.module_utils._engine.liveness import Health


def test_the_first_round_decides_at_once():
    health = Health(down_after=3, up_after=3)
    assert health.observe(0, True) == "up"
    assert health.observe(1, False) == "down"
    assert health.live() == [0]


def test_a_tunnel_goes_down_after_down_after_failed_rounds_in_a_row():
    health = Health(down_after=2, up_after=2)
    health.observe(0, True)
    assert health.observe(0, False) is None
    assert health.observe(0, False) == "down"
    assert health.live() == []


def test_a_good_round_resets_the_count_of_failed_ones():
    health = Health(down_after=2, up_after=2)
    health.observe(0, True)
    for ok in (False, True, False, True):
        assert health.observe(0, ok) is None
    assert health.live() == [0]


def test_a_missing_interface_takes_the_tunnel_down_at_once():
    health = Health(down_after=5)
    health.observe(0, True)
    assert health.observe(0, False, immediate=True) == "down"


def test_a_recovered_tunnel_returns_after_up_after_good_rounds():
    health = Health(down_after=1, up_after=2)
    health.observe(0, False)
    assert health.observe(0, True) is None
    assert health.observe(0, True) == "up"


def test_thresholds_below_one_are_refused():
    with pytest.raises(ValueError):
        Health(down_after=0)
