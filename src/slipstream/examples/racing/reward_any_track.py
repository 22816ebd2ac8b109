"""The racing example's reward for training on many tracks: pay the square of the pace in metres
per second, so every track pays the same for the same pace and a faster lap pays more.

The pace is the centre-line distance covered per second so far this episode (`progress` % of
`track_length` over `steps` at DeepRacer's 15 steps per second), divided by the action space's top
speed of 4 m/s: about 1 for a car racing flat out on any track.

Why the square. A lap of L metres at pace p takes 15 L / (4 p) steps. Paying p per step makes a
lap worth 15 L / 4 whatever the pace: speed earns nothing, and in a batch of varied tracks a
careful slow line pays best. Measured with that reward (docs/tracks.md): the share of test tracks
lapped at 2 m/s or more fell from 33 % after 10 minutes to 0 % after 60 as the policy learned.
Paying p^2 makes a lap worth 15 L p / 4, in proportion to the pace, while leaving the road still
ends the pay, so the policy weighs speed against the risk of losing the rest of the lap. The
example's own reward (reward_function.py) pays `progress / steps`, the lap percentage per step: a
90 m track would pay a sixth of a 15 m one at the same speed.

Finishing the lap pays a bonus of 100 steps at the final rate. With a wheel off the road the step
pays almost nothing (DeepRacer's usual 1e-3).
"""

OFF_ROAD_REWARD = 1e-3
FINISH_BONUS_STEPS = 100
STEPS_PER_SECOND = 15.0
TOP_SPEED = 4.0  # m/s, the fastest action of the racing example


def reward_function(params):
    if params["is_offtrack"] or not params["all_wheels_on_track"]:
        return float(OFF_ROAD_REWARD)
    metres = params["progress"] / 100.0 * params["track_length"]
    seconds = max(params["steps"], 1) / STEPS_PER_SECOND
    pace = metres / seconds / TOP_SPEED
    reward = pace**2
    if params["progress"] >= 100:
        reward += FINISH_BONUS_STEPS * pace**2
    return float(max(reward, OFF_ROAD_REWARD))
