"""Slipstream's default reward: stay near the centre line with all four wheels on the road.

A DeepRacer reward function: `reward_function(params) -> float`, called once per step with the
DeepRacer `params` dict. The reward steps down as the car moves away from the centre line, in
three bands measured as fractions of the local track width, and is almost zero once any wheel
leaves the road.

    distance from centre <= 10 % of width  -> 1.0
                         <= 25 %           -> 0.5
                         <= 50 % (the edge) -> 0.1
    beyond the edge, or a wheel off track  -> 0.001
"""

BANDS = ((0.10, 1.0), (0.25, 0.5), (0.50, 0.1))  # (fraction of track width, reward)
OFF_TRACK_REWARD = 1e-3


def reward_function(params):
    if not params["all_wheels_on_track"]:
        return float(OFF_TRACK_REWARD)
    width = params["track_width"]
    distance = params["distance_from_center"]
    for fraction, reward in BANDS:
        if distance <= fraction * width:
            return float(reward)
    return float(OFF_TRACK_REWARD)
