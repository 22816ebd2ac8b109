"""Cars of one batch on different tracks: each car gets, step by step, the reward params and the
camera image a single-car world of its own track gives it (same seed, same commands)."""

from __future__ import annotations

import numpy as np
import pytest

from slipstream.env.core import DeepRacerCore
from slipstream.tracks import load_track
from slipstream.tracks.generate import generate_track

STEPS = 45


def _commands(step: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Different commands per car and step, so cars leave the road at different times."""
    car = np.arange(n)
    steering = 25.0 * np.sin(0.15 * step + car)
    speed = 1.0 + 0.4 * (car % 3)
    return steering, speed


def _drive(core: DeepRacerCore, cars: int, slots=None):
    """Params and camera image of every car at every step until its episode ends."""
    obs = core.reset(slots=slots)
    params: list[list[dict]] = [[] for _ in range(cars)]
    frames: list[list[np.ndarray]] = [[obs["FRONT_FACING_CAMERA"][i].copy()] for i in range(cars)]
    live = np.ones(cars, dtype=bool)
    for step in range(STEPS):
        out = core.step(commands=_commands(step, cars))
        for i in np.flatnonzero(live):
            params[i].append(out.params[i])
            frames[i].append(out.obs["FRONT_FACING_CAMERA"][i].copy())
        live &= ~(out.terminated | out.truncated)
    return params, frames


def _alone(track, seed: int, world: dict, car: int):
    """Car `car`'s drive in a world of its track alone (its own seed and commands)."""
    core = DeepRacerCore(1, track=track, world=world, spread_starts=True)
    core.seed([seed])
    obs = core.reset()
    params, frames = [], [obs["FRONT_FACING_CAMERA"][0].copy()]
    for step in range(STEPS):
        steering, speed = _commands(step, car + 1)
        out = core.step(commands=(steering[car:], np.atleast_1d(speed)[car:]))
        params.append(out.params[0])
        frames.append(out.obs["FRONT_FACING_CAMERA"][0].copy())
        if out.terminated[0] or out.truncated[0]:
            break
    return params, frames


@pytest.mark.parametrize(
    "world", [{}, {"ENABLE_DOMAIN_RANDOMIZATION": True}, {"CAMERA_AUGMENTATION": True}]
)
def test_each_car_drives_and_sees_its_own_track(world):
    tracks = [
        load_track("slipstream_default"),
        generate_track(5, width=0.9),  # another look (texture colours) and width
        load_track("slipstream_oval").reversed(),  # a slot driven the other way round
    ]
    slots = np.array([0, 1, 2, 2, 1, 0])
    seeds = [11, 12, 13, 14, 15, 16]
    core = DeepRacerCore(len(slots), track=tracks, world=world, spread_starts=True)
    core.seed(seeds)
    params, frames = _drive(core, len(slots), slots)
    for car, slot in enumerate(slots.tolist()):
        want_params, want_frames = _alone(tracks[slot], seeds[car], world, car)
        assert len(params[car]) == len(want_params)
        for got, want in zip(params[car], want_params, strict=True):
            assert got == want
        for got, want in zip(frames[car], want_frames, strict=True):
            np.testing.assert_array_equal(got, want)
    # the batch did hold different tracks
    assert {p[0]["track_length"] for p in params} == {t.length for t in tracks}
    assert [p[0]["is_reversed"] for p in params] == [False, False, True, True, False, False]


def test_a_slot_takes_a_new_track_for_the_next_episodes():
    core = DeepRacerCore(2, track=["slipstream_default", "slipstream_oval"])
    core.seed([1, 2])
    core.reset(slots=np.array([0, 1]))
    fresh = generate_track(8)
    core.set_track(1, fresh)
    core.reset(np.array([False, True]))  # car 1 starts its next episode on slot 1's new track
    out = core.step(commands=(np.zeros(2), np.ones(2)))
    assert out.params[0]["track_length"] == load_track("slipstream_default").length
    assert out.params[1]["track_length"] == fresh.length
    assert out.params[1]["waypoints"] == [tuple(p) for p in fresh.center.tolist()]
    np.testing.assert_array_equal(core.sim.current.track, [0, 1])


def test_objects_need_every_car_on_one_track():
    world = {"RACE_TYPE": "OBJECT_AVOIDANCE", "NUMBER_OF_OBSTACLES": 3}
    with pytest.raises(ValueError, match="one track"):
        DeepRacerCore(2, track=["slipstream_default", "slipstream_oval"], world=world)
