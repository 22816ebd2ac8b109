"""Slipstream's racing example: pay for progress per step, and nothing off the road.

A DeepRacer reward function (`reward_function(params) -> float`), used with the example's
action space of speeds up to 4 m/s (`slipstream train --example racing`).

`progress / steps` is the lap percentage covered per step so far this episode: the faster the
car has gone, the more every step pays (at DeepRacer's 15 steps per second a lap in 8.8 s, 132
steps, pays 100 / 132 ~ 0.76 per step; a 12 s lap ~ 0.56). Finishing the lap pays a bonus of
100 steps at that pace, so a faster finish is worth more. With a wheel off the road the step
pays almost nothing (DeepRacer's usual 1e-3), so staying on the road comes first.

The action space (model_metadata.json) pairs each steering angle with about the fastest speed
the car holds that turn at (`slipstream.sim.calibration.fastest_turn_speed` on the default car,
the mechanism model of DeepRacer's simapp 5 car, docs/car.md): the fastest speed whose steady
turn stays within 3/4 of the car's grip (`lateral_grip`, 3.8 m/s^2; past it the turn opens up
quickly): 30 deg at 1.9 m/s (turn radius 1.4 m), 25 at 2.3 (2.1 m), 20 at 2.9 (3.3 m), 15 at 4.0
(4.9 m), and straight at 4.0. For the tightest corners (reInvent2019's centre line bends at
0.84 m) 30 deg at 1.1 m/s turns at 0.8 m. DeepRacer's car turns at about a third of the
kinematic rate (its four wheels are driven at one speed and its front wheels steer parallel),
so a sharp command at a low speed is what tight corners need.
"""

OFF_ROAD_REWARD = 1e-3
FINISH_BONUS_STEPS = 100


def reward_function(params):
    if params["is_offtrack"] or not params["all_wheels_on_track"]:
        return float(OFF_ROAD_REWARD)
    pace = params["progress"] / max(params["steps"], 1)  # % of the lap per step
    reward = pace
    if params["progress"] >= 100:
        reward += FINISH_BONUS_STEPS * pace
    return float(max(reward, OFF_ROAD_REWARD))
