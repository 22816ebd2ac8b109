"""The one episode loop and the done-mask: a finished car is frozen until it is reset."""

from __future__ import annotations

import numpy as np

import slipstream
from slipstream.env.core import DeepRacerCore
from slipstream.env.episode_loop import play_episodes
from slipstream.env.single_env import DeepRacerEnv

TRACK = "slipstream_oval"


class CountingReward:
    """Reward function that counts its calls and records what it was given."""

    def __init__(self) -> None:
        self.calls = 0
        self.offtrack_calls = 0

    def __call__(self, params):
        self.calls += 1
        self.offtrack_calls += bool(params["is_offtrack"])
        return 1.0


def test_a_finished_car_is_frozen_until_reset():
    reward = CountingReward()
    core = DeepRacerCore(
        2, track=TRACK, reward_function=reward, world={"CHANGE_START_POSITION": "false"}
    )
    core.seed([1, 2])
    core.reset()
    # car 0 drives straight at full speed into the first bend and off the road; car 1 creeps on
    commands = (np.array([0.0, 0.0]), np.array([4.0, 0.5]))
    for _ in range(200):
        step = core.step(commands=commands)
        if step.terminated[0]:
            break
    assert step.terminated[0] and step.status[0] == "off_track"
    frozen = {name: np.array(getattr(core.sim.state, name))[0] for name in ("x", "y", "yaw")}
    calls, steps0, done0 = reward.calls, step.result.steps[0], core.sim.episodes_done[0]
    obs0 = step.obs["FRONT_FACING_CAMERA"][0].copy()
    for _ in range(30):
        step = core.step(commands=commands)
        assert not step.terminated[0] and not step.truncated[0]
        assert not step.result.phase_was_run[0] and step.reward[0] == 0.0
        assert step.result.steps[0] == steps0 and step.status[0] == "off_track"
        assert np.array_equal(step.obs["FRONT_FACING_CAMERA"][0], obs0)
    for name, value in frozen.items():
        assert np.array(getattr(core.sim.state, name))[0] == value
    # only car 1 was rewarded; the car off the road was passed to the reward function once, at
    # the step that ended its episode (as DeepRacer does), never after
    assert reward.calls == calls + 30
    assert reward.offtrack_calls == 1
    assert core.sim.episodes_done[0] == done0 == 1
    core.reset(np.array([True, False]))
    step = core.step(commands=commands)
    assert step.result.steps[0] == 1 and step.status[0] == "prepare"


def test_round_robin_advances_once_per_finished_training_episode():
    core = DeepRacerCore(1, track=TRACK)
    core.seed([0])
    starts = []

    def act(obs, cars):
        return (np.zeros(1), np.full(1, 4.0))  # straight on at full speed: off at the first bend

    def on_step(loop):
        if loop.step.result.steps[0] == 1:
            starts.append(core.sim.start_ndist[0])

    play_episodes(core, act, 4, on_step)
    assert core.sim.episodes_done[0] == 4
    # DeepRacer's ROUND_ROBIN_ADVANCE_DIST 0.05 of the lap per finished episode
    assert np.allclose(np.diff(starts), 0.05)


def test_each_car_plays_its_share_and_episodes_are_numbered_in_start_order():
    core = DeepRacerCore(3, track=TRACK)
    core.seed([0, 1, 2])
    ended = []

    def on_step(loop):
        ended.extend((int(i), int(loop.episode[i])) for i in loop.ended)

    play_episodes(core, lambda obs, cars: (np.zeros(3), np.full(3, 4.0)), [2, 0, 1], on_step)
    assert sorted(car for car, _ in ended) == [0, 0, 2]
    assert sorted(number for _, number in ended) == [0, 1, 2]
    assert list(core.sim.episodes_done) == [2, 0, 1]


def test_total_episodes_go_to_the_first_free_car_and_may_start_stops_new_ones():
    def run(may_start=None):
        core = DeepRacerCore(2, track=TRACK)
        core.seed([0, 1])
        ends = []
        straight_on = (np.zeros(2), np.full(2, 4.0))  # both cars leave the road at the same step
        play_episodes(
            core,
            lambda obs, cars: straight_on,
            5,
            lambda loop: ends.extend(loop.ended.tolist()),
            may_start=None if may_start is None else lambda: may_start(ends),
        )
        return ends, list(core.sim.episodes_done)

    # 5 episodes on 2 cars ending together: 2, 2, then 1 on the lowest free car
    assert run() == ([0, 1, 0, 1, 0], [3, 2])
    # a budget spent after the first two: no new episode starts
    assert run(lambda ends: len(ends) < 2) == ([0, 1], [1, 1])


def test_reward_function_gets_its_own_copy_of_the_params():
    def vandal(params):
        params["waypoints"].clear()
        del params["progress"]
        params["closest_waypoints"][0] = -1
        params["extra"] = True
        return 1.0

    env = DeepRacerEnv(track=TRACK, reward_function=vandal)
    env.reset(seed=0)
    for _ in range(3):
        _, _, _, _, info = env.step(2)
        params = info["reward_params"]
        assert "extra" not in params and "progress" in params
        assert len(params["waypoints"]) > 10 and params["closest_waypoints"][0] >= 0


def test_vector_env_with_bots_equals_single_envs_step_for_step():
    world = {
        "NUMBER_OF_BOT_CARS": 2,
        "IS_LANE_CHANGE": True,
        "LOWER_LANE_CHANGE_TIME": 0.2,
        "UPPER_LANE_CHANGE_TIME": 0.5,
        "BOT_CAR_SPEED": 1.5,
    }
    kw = dict(track="slipstream_default", race_type="HEAD_TO_BOT", world=world)
    n = 3
    vec = slipstream.make_vec_env(n, **kw)
    singles = [DeepRacerEnv(spread_starts=True, **kw) for _ in range(n)]
    vobs, _ = vec.reset(seed=5)
    for i, env in enumerate(singles):
        env.reset(seed=5 + i)
    rng = np.random.default_rng(1)
    for _ in range(75):
        actions = rng.integers(1, 4, size=n)  # gentle actions: long episodes
        vobs, vrew, vterm, vtrunc, vinfo = vec.step(actions)
        for i, env in enumerate(singles):
            obs, rew, term, trunc, info = env.step(int(actions[i]))
            if term or trunc:
                obs, _ = env.reset()
            assert rew == vrew[i] and term == vterm[i] and trunc == vtrunc[i]
            assert info["reward_params"] == vinfo["reward_params"][i]
            assert np.array_equal(obs["FRONT_FACING_CAMERA"], vobs["FRONT_FACING_CAMERA"][i])
    # the bots changed lanes more than once (the later changes draw from the car's generator)
    assert (vec.core.sim.current.objects.bots.next_change_time > 2.0).any()
