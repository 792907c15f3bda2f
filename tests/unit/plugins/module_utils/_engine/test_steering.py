"""The watchdog's quality steering on recorded inputs: one round a second, twenty echoes a
tunnel and round (the default), losses spread evenly at the given rate or drawn from a
seeded generator (every run is the same)."""
import random


from ansible_collections.bonded.openvpn.plugins.module_utils._engine import layout
from ansible_collections.bonded.openvpn.plugins.module_utils._engine import steering

DEFAULTS = dict((name, layout.PROBE_DEFAULTS[name]) for name in
                ("loss_threshold", "loss_window", "rtt_factor", "rtt_margin", "hold"))


def make(**changes):
    settings = dict(DEFAULTS)
    settings.update(changes)
    return steering.Steering(**settings)


class Evenly(object):
    """Loses an echo each time the rate, added up per echo, passes a whole one."""

    def __init__(self):
        self.owed = {}

    def lost(self, index, rate):
        self.owed[index] = self.owed.get(index, 0.0) + rate
        if self.owed[index] >= 1.0:
            self.owed[index] -= 1.0
            return True
        return False


class Randomly(object):
    """Loses each echo with the rate's probability, from a seeded generator."""

    def __init__(self, seed):
        self.random = random.Random(seed)

    def lost(self, index, rate):
        return self.random.random() < rate


ECHOES = layout.PROBE_DEFAULTS["probes"]


def play(quality, seconds, loss=lambda index, t: 0.0, rtt=lambda index, t: 0.002, tunnels=4, seed=None, start=0):
    """Feeds ``seconds`` rounds; returns every transition with the second it happened.
    ``seed``: losses at random (seeded) rather than evenly."""
    draw = Evenly() if seed is None else Randomly(seed)
    seen = []
    for t in range(start, start + seconds):
        for index in range(tunnels):
            quality.add(index, float(t), [None if draw.lost(index, loss(index, t)) else rtt(index, t) for dummy in range(ECHOES)])
        seen += [(t,) + change for change in quality.judge(range(tunnels), float(t))]
    return seen


def test_a_healthy_bond_never_changes():
    assert play(make(), 300) == []


def test_a_tunnel_at_5_percent_loss_leaves_within_15_s_with_the_reason_loss():
    quality = make()
    play(quality, 30)
    seen = play(quality, 30, loss=lambda index, t: 0.05 if index == 3 else 0.0, start=30)
    assert len(seen) == 1
    t, index, direction, reason, detail = seen[0]
    assert (index, direction, reason) == (3, steering.LEAVE, steering.LOSS)
    assert t - 30 <= 15
    assert "against the rest of the bond's 0.0 %: CUSUM" in detail
    assert quality.in_rotation(range(4)) == [0, 1, 2]


def test_it_returns_after_the_hold_once_the_loss_stops_and_not_before():
    quality = make()
    seen = play(quality, 30, loss=lambda index, t: 0.05 if index == 3 else 0.0)
    left = seen[0][0]
    seen = play(quality, 40, start=30)
    assert [(index, direction, reason) for _t, index, direction, reason, _d in seen] == [(3, steering.RETURN, steering.RECOVERED)]
    back = seen[0][0]
    assert back - left >= DEFAULTS["hold"]            # out for a whole hold at least
    assert back - 30 <= DEFAULTS["hold"] + 10         # and back within hold + 10 s of the loss stopping


def test_hysteresis_loss_between_half_and_the_whole_threshold_keeps_it_out():
    quality = make()
    play(quality, 30, loss=lambda index, t: 0.08 if index == 3 else 0.0)
    assert quality.in_rotation(range(4)) == [0, 1, 2]
    # 2.2 % (evenly) is just above the level, about 0.72 x the 3 % threshold, where the
    # CUSUM's echoes weigh toward leaving rather than coming back: it stays out.
    seen = play(quality, 120, loss=lambda index, t: 0.022 if index == 3 else 0.0, start=30)
    assert seen == []


def test_a_link_whose_loss_toggles_every_few_seconds_changes_at_most_once_per_hold():
    quality = make()
    for period in (2, 3, 5, 8, 13):
        seen = play(quality, 300, loss=lambda index, t: 0.2 if index == 3 and (t // period) % 2 else 0.0,
                    start=1000 * period, seed=period)
        times = [t for t, index, _d, _r, _x in seen if index == 3]
        assert all(b - a >= DEFAULTS["hold"] for a, b in zip(times, times[1:])), (period, seen)
        assert len(times) <= 300 / DEFAULTS["hold"]


def test_a_tunnel_many_times_slower_than_the_best_leaves_with_the_reason_rtt():
    quality = make()
    seen = play(quality, 15, rtt=lambda index, t: 0.9 if index == 1 else 0.02)
    assert [(index, reason) for _t, index, _d, reason, _x in seen] == [(1, steering.RTT)]
    assert "more than 4 x the best tunnel's 20.0 ms" in seen[0][4]


def test_a_busy_tunnel_s_queue_is_no_reason_to_leave():
    # 130 ms against 5 ms is 26 times the best, but only 0.125 s more: under the margin.
    assert play(make(), 60, rtt=lambda index, t: 0.13 if index == 0 else 0.005) == []


def test_the_last_tunnel_in_rotation_stays_whatever_its_quality():
    quality = make()
    seen = play(quality, 30, loss=lambda index, t: 0.2 if index == 1 else 0.0, tunnels=2)
    assert [(index, reason) for _t, index, _d, reason, _x in seen] == [(1, steering.LOSS)]
    # Tunnel 0 gets far worse than tunnel 1: as the only one left it stays, until tunnel 1,
    # now the better one, has been out a hold and comes back.
    changes = []
    for t in range(30, 90):
        changes += play(quality, 1, loss=lambda index, t: 0.6 if index == 0 else 0.2, tunnels=2, start=t)
        assert quality.in_rotation(range(2))
    assert [(index, direction) for _t, index, direction, _r, _x in changes][:1] == [(1, steering.RETURN)]


def test_loss_every_busy_tunnel_sees_alike_is_no_reason_to_leave():
    # Congestion: the links lab saw 4-5 % of echoes lost on every tunnel at full load.
    assert play(make(), 120, loss=lambda index, t: 0.045 + 0.005 * index) == []


def test_too_few_echoes_say_nothing():
    quality = make()
    quality.add(0, 0.0, [None] * (steering.MIN_SAMPLES - 1))
    quality.add(1, 0.0, [0.001] * 40)
    assert quality.loss(0, 0.0) is None
    assert quality.judge([0, 1], 0.0) == []


def test_a_dead_tunnel_s_echoes_are_forgotten():
    quality = make()
    quality.add(2, 0.0, [None] * 50)
    quality.forget(2)
    quality.add(2, 1.0, [0.001] * 60)
    assert quality.loss(2, 1.0) == 0.0


def test_transitions_are_counted_by_direction_and_reason():
    quality = make()
    play(quality, 30, loss=lambda index, t: 0.05 if index == 3 else 0.0)
    play(quality, 40, start=30)
    assert quality.transitions == {(3, steering.LEAVE, steering.LOSS): 1, (3, steering.RETURN, steering.RECOVERED): 1}


def test_congestion_every_tunnel_sees_alike_at_random_is_almost_never_a_reason_to_leave():
    # bench/echo_loss saw 0.6-4.4 % of every tunnel's echoes lost on saturated links with
    # packet-limited queues. The best of three tunnels at 2 % often shows 0 % by chance, and
    # the rule this replaced ("3 % above the best tunnel's over 10 s") left 16-74 times per
    # tunnel and hour at 1-3 % (bench/steering_noise); the CUSUM about 0.25 at 3 %, so a
    # rare unlucky window (17 of 220 echoes at 2 %) may still take one out.
    for rate, seed in ((0.01, 1), (0.02, 2), (0.03, 3)):
        seen = play(make(), 1800, loss=lambda index, t: rate, seed=seed)
        assert len([change for change in seen if change[2] == steering.LEAVE]) <= 2, (rate, seen)


def test_a_link_at_5_percent_loss_one_way_leaves_within_15_s_in_nine_starts_of_ten():
    times = []
    for seed in range(20):
        quality = make()
        play(quality, 20, seed=seed)
        seen = play(quality, 60, loss=lambda index, t: 0.05 if index == 3 else 0.0, start=20, seed=100 + seed)
        assert [(index, direction, reason) for _t, index, direction, reason, _d in seen][:1] == [
            (3, steering.LEAVE, steering.LOSS)], seed
        times.append(seen[0][0] - 20 + 1)
    assert sorted(times)[17] <= 15, times


def test_the_reference_is_the_rest_of_the_bond_so_a_mostly_bad_bond_still_sheds_its_bad_tunnels():
    # Three of four tunnels at 10 %: each is compared with the pooled loss of the others in
    # rotation, which falls as the bad ones leave, until only the good one is left.
    quality = make()
    play(quality, 120, loss=lambda index, t: 0.0 if index == 0 else 0.1)
    assert quality.in_rotation(range(4)) == [0]


def test_a_tunnel_back_at_half_the_threshold_or_less_stays_in():
    quality = make()
    play(quality, 30, loss=lambda index, t: 0.1 if index == 3 else 0.0, seed=7)
    assert quality.in_rotation(range(4)) == [0, 1, 2]
    seen = play(quality, 600, loss=lambda index, t: 0.01 if index == 3 else 0.0, start=30, seed=8)
    assert [(index, direction) for _t, index, direction, _r, _d in seen] == [(3, steering.RETURN)]


def test_a_fresh_tunnel_with_too_few_echoes_cannot_leave_for_loss_however_many_it_lost():
    quality = make()
    quality.add(0, 0.0, [None] * (steering.MIN_SAMPLES - 1))
    quality.add(1, 0.0, [0.001] * steering.MIN_SAMPLES)
    assert quality.judge([0, 1], 0.0) == []
    quality.add(0, 1.0, [None])
    assert [change[:3] for change in quality.judge([0, 1], 1.0)] == [(0, steering.LEAVE, steering.LOSS)]


def test_a_dead_tunnel_s_echoes_do_not_pile_up_while_it_is_dead():
    quality = make()
    for t in range(100):
        for index in range(2):
            quality.add(index, float(t), [None if index == 1 else 0.002] * ECHOES)
        quality.judge([0], float(t))
    assert 1 not in quality.fresh
