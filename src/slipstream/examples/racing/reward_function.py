"""Slipstream's racing example: pay for progress per step, and nothing off the road.

A DeepRacer reward function (`reward_function(params) -> float`), used with the example's
action space of speeds up to 4 m/s (`slipstream train --example racing`).

`progress / steps` is the lap percentage covered per step so far this episode: the faster the
car has gone, the more every step pays (at DeepRacer's 15 steps per second a lap in 8.8 s, 132
steps, pays 100 / 132 ~ 0.76 per step; a 12 s lap ~ 0.56). Finishing the lap pays a bonus of
100 steps at that pace, so a faster finish is worth more. With a wheel off the road the step
pays almost nothing (DeepRacer's usual 1e-3), so staying on the road comes first.

The action space (model_metadata.json) pairs each steering angle with about the fastest speed
the car holds that turn at without sliding wide (`slipstream.sim.calibration.steady_turn` on
the calibrated car, lateral acceleration 3.9-4.3 m/s^2 under the tyres' 4.5): 30 deg at 1.8 m/s
(turn radius 0.8 m, for the tightest corners), 25 at 2.4 (1.2 m), 15 at 3.0 (2.0 m), 8 at 3.6
(3.8 m), and straight at 4.0 or 3.0 m/s (to slow down before a corner). DeepRacer's car steers
about half the commanded angle, so a sharp command at a low speed is what tight corners need.
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
