"""The racing example's reward for training on many tracks: pay for speed along the track in
metres, so every track pays the same for the same pace.

The example's own reward (reward_function.py) pays `progress / steps`, the lap percentage per
step; on a 90 m track a car at 3 m/s earns a sixth of what it earns on a 15 m track, so a batch of
mixed tracks would weigh short tracks far above long ones. Here the pace is the centre-line
distance covered per second so far this episode (`progress` % of `track_length` over `steps` at
DeepRacer's 15 steps per second), divided by the action space's top speed of 4 m/s: about 1 for a
car racing flat out on any track. Finishing the lap pays a bonus of 100 steps at that pace. With a
wheel off the road the step pays almost nothing (DeepRacer's usual 1e-3).
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
    reward = pace
    if params["progress"] >= 100:
        reward += FINISH_BONUS_STEPS * pace
    return float(max(reward, OFF_ROAD_REWARD))
