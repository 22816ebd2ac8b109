"""Gymnasium contract of slipstream/DeepRacer-v0 and the batched vector env."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import slipstream
from slipstream.env.single_env import DeepRacerEnv
from slipstream.sim.params import REWARD_PARAM_KEYS
from slipstream.tracks import load_track


def _track() -> str:
    """The official re:Invent 2019 track when the route files are present, else a built-in one."""
    try:
        load_track("reInvent2019_track")
    except Exception:
        return "slipstream_default"
    return "reInvent2019_track"


TRACK = _track()


def test_env_checker_passes():
    env = gym.make("slipstream/DeepRacer-v0", track=TRACK)
    check_env(env.unwrapped, skip_render_check=True)


def test_info_has_params_and_status_every_step():
    env = DeepRacerEnv(track=TRACK)
    env.reset(seed=3)
    for k in range(5):
        obs, reward, _, _, info = env.step(2)
        assert tuple(info["reward_params"]) == REWARD_PARAM_KEYS
        assert info["episode_status"] == ("prepare" if k == 0 else "in_progress")
        assert obs["FRONT_FACING_CAMERA"].shape == (120, 160, 1)
    assert reward > 0  # default reward: centre line, all wheels on


def test_vector_env_matches_single_envs_step_for_step():
    n, steps = 3, 60
    vec = slipstream.make_vec_env(n, track=TRACK)
    singles = [DeepRacerEnv(track=TRACK, spread_starts=True) for _ in range(n)]
    vobs, _ = vec.reset(seed=10)
    for i, env in enumerate(singles):
        env.reset(seed=10 + i)
    rng = np.random.default_rng(0)
    for _ in range(steps):
        actions = rng.integers(0, 5, size=n)
        vobs, vrew, vterm, vtrunc, vinfo = vec.step(actions)
        for i, env in enumerate(singles):
            obs, rew, term, trunc, info = env.step(int(actions[i]))
            if term or trunc:
                final = vinfo["final_obs"][i]["FRONT_FACING_CAMERA"]
                assert np.array_equal(final, obs["FRONT_FACING_CAMERA"])
                obs, _ = env.reset()
            assert rew == vrew[i] and term == vterm[i] and trunc == vtrunc[i]
            assert info["reward_params"] == vinfo["reward_params"][i]
            assert np.array_equal(obs["FRONT_FACING_CAMERA"], vobs["FRONT_FACING_CAMERA"][i])


def test_same_seed_same_frames_and_autoreset_metadata():
    a = slipstream.make_vec_env(2, track=TRACK)
    b = slipstream.make_vec_env(2, track=TRACK)
    assert a.metadata["autoreset_mode"] == gym.vector.AutoresetMode.SAME_STEP
    oa, _ = a.reset(seed=5)
    ob, _ = b.reset(seed=5)
    for _ in range(30):
        oa, *_ = a.step(np.array([0, 4]))
        ob, *_ = b.step(np.array([0, 4]))
    assert np.array_equal(oa["FRONT_FACING_CAMERA"], ob["FRONT_FACING_CAMERA"])


def test_terminated_and_truncated_are_kept_apart():
    env = DeepRacerEnv(track=TRACK, max_steps=10)
    env.reset(seed=0)
    for _ in range(10):
        _, _, terminated, truncated, info = env.step(2)
    assert truncated and not terminated and info["episode_status"] == "in_progress"
    env = DeepRacerEnv(track=TRACK)
    env.reset(seed=0)
    for _ in range(500):
        _, _, terminated, truncated, info = env.step(3)  # 15 deg left: circles off the road
        if terminated:
            break
    assert terminated and not truncated and info["episode_status"] == "off_track"


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="unknown track"):
        DeepRacerEnv(track="no_such_track")
    with pytest.raises(ValueError, match="race_type"):
        DeepRacerEnv(track=TRACK, race_type="DRAG_RACE")


def test_object_avoidance_and_bots_fill_object_params():
    env = DeepRacerEnv(track=TRACK, race_type="OBJECT_AVOIDANCE", world={"NUMBER_OF_OBSTACLES": 3})
    env.reset(seed=0)
    _, _, _, _, info = env.step(2)
    params = info["reward_params"]
    assert len(params["objects_location"]) == 3 and params["objects_speed"] == [0.0] * 3
    env = DeepRacerEnv(track=TRACK, race_type="HEAD_TO_BOT", world={"NUMBER_OF_BOT_CARS": 2})
    env.reset(seed=0)
    _, _, _, _, info = env.step(2)
    params = info["reward_params"]
    assert len(params["objects_location"]) == 2 and params["objects_speed"] == [0.2, 0.2]


def test_domain_randomization_is_seeded_per_episode():
    world = {"ENABLE_DOMAIN_RANDOMIZATION": "True"}
    a = DeepRacerEnv(track=TRACK, world=world)
    b = DeepRacerEnv(track=TRACK, world=world)
    plain = DeepRacerEnv(track=TRACK)
    oa, _ = a.reset(seed=4)
    ob, _ = b.reset(seed=4)
    op, _ = plain.reset(seed=4)
    assert np.array_equal(oa["FRONT_FACING_CAMERA"], ob["FRONT_FACING_CAMERA"])
    assert not np.array_equal(oa["FRONT_FACING_CAMERA"], op["FRONT_FACING_CAMERA"])
    again, _ = a.reset()
    assert not np.array_equal(again["FRONT_FACING_CAMERA"], oa["FRONT_FACING_CAMERA"])


def test_stereo_and_lidar_observations():
    metadata = {
        "action_space": [{"steering_angle": 0, "speed": 1}, {"steering_angle": 30, "speed": 1}],
        "sensor": ["STEREO_CAMERAS", "LIDAR"],
        "version": "5",
    }
    env = DeepRacerEnv(track=TRACK, model_metadata=metadata, race_type="HEAD_TO_BOT")
    obs, _ = env.reset(seed=0)
    assert obs["STEREO_CAMERAS"].shape == (120, 160, 2)
    assert obs["LIDAR"].shape == (64,) and obs["LIDAR"].dtype == np.float32
    assert np.all((obs["LIDAR"] >= 0.15) & (obs["LIDAR"] <= 1.0))
    assert env.observation_space.contains(obs)


def test_object_in_camera_for_a_box_ahead():
    world = {"NUMBER_OF_OBSTACLES": 1, "OBJECT_POSITIONS": ["0.1,1"]}
    env = DeepRacerEnv(track=TRACK, race_type="OBJECT_AVOIDANCE", world=world)
    env.reset(seed=0)
    _, _, _, _, info = env.step(2)
    params = info["reward_params"]
    # the box sits 10 % of the lap (2.3 m) ahead on the inner lane: in view, and next
    assert params["object_in_camera"] is True
    assert params["closest_objects"] == [0, 0]
    assert params["objects_distance"][0] == pytest.approx(0.1 * params["track_length"], abs=0.05)


def test_race_types_bring_drfc_default_object_counts():
    from slipstream.config.world import WorldConfig

    world = WorldConfig().to_yaml_dict()  # holds NUMBER_OF_OBSTACLES '0' like a DRfC YAML
    env = DeepRacerEnv(track=TRACK, race_type="OBJECT_AVOIDANCE", world=world)
    env.reset(seed=0)
    assert len(env.step(2)[4]["reward_params"]["objects_location"]) == 6
    env = DeepRacerEnv(track=TRACK, race_type="HEAD_TO_BOT", world=world)
    env.reset(seed=0)
    assert len(env.step(2)[4]["reward_params"]["objects_location"]) == 3


def test_bot_lane_changes_are_repeatable_for_a_seed():
    world = {
        "NUMBER_OF_BOT_CARS": 2,
        "IS_LANE_CHANGE": True,
        "LOWER_LANE_CHANGE_TIME": 0.5,
        "UPPER_LANE_CHANGE_TIME": 1.0,
        "BOT_CAR_SPEED": 0.5,
    }
    runs = []
    for _ in range(2):
        env = DeepRacerEnv(track=TRACK, race_type="HEAD_TO_BOT", world=world)
        env.reset(seed=11)
        for _ in range(60):
            *_, info = env.step(0)  # hard right: the car stays put-ish, bots keep driving
        runs.append(info["reward_params"]["objects_location"])
    assert runs[0] == runs[1]


def test_camera_augmentation_is_opt_in_seeded_and_drawn_per_episode():
    world = {"CAMERA_AUGMENTATION": "true"}
    a = DeepRacerEnv(track=TRACK, world=world)
    b = DeepRacerEnv(track=TRACK, world=world)
    plain = DeepRacerEnv(track=TRACK)
    oa, _ = a.reset(seed=4)
    ob, _ = b.reset(seed=4)
    op, _ = plain.reset(seed=4)
    assert np.array_equal(oa["FRONT_FACING_CAMERA"], ob["FRONT_FACING_CAMERA"])
    diff = np.abs(oa["FRONT_FACING_CAMERA"].astype(int) - op["FRONT_FACING_CAMERA"])
    assert diff.mean() > 2.0
    again, _ = a.reset()
    assert not np.array_equal(again["FRONT_FACING_CAMERA"], oa["FRONT_FACING_CAMERA"])


@pytest.mark.parametrize("key", ["CAMERA_AUGMENTATION", "ENABLE_DOMAIN_RANDOMIZATION"])
def test_unseeded_core_draws_from_the_car_index(key):
    """A core never seeded (as `check_inputs` builds one) resets and steps; car i's camera draws
    then equal those of a core seeded with i, as the simulator's own draws do."""
    from slipstream.env.core import DeepRacerCore

    unseeded = DeepRacerCore(2, track=TRACK, world={key: True})
    seeded = DeepRacerCore(2, track=TRACK, world={key: True})
    seeded.seed([0, 1])
    for core in (unseeded, seeded):
        core.reset()
        core.step(commands=(np.zeros(2), np.ones(2)))
    a = unseeded.observe()["FRONT_FACING_CAMERA"]
    b = seeded.observe()["FRONT_FACING_CAMERA"]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[0], a[1])
