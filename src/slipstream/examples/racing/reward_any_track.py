"""The racing example's reward for training on many tracks. Each step on the road pays the pace
so far times the mean of two speeds: the pace so far again, and the car's speed along the track
now. Both are in metres per second, so every track pays the same for the same speed.

The pace is the centre-line distance covered per second so far this episode (`progress` % of
`track_length` over `steps` at DeepRacer's 15 steps per second). The speed along the track is the
action's `speed` times the cosine of the angle between `heading` and the track's direction (from
waypoint `closest_waypoints[0]` to `closest_waypoints[1]`), nothing when the car points backwards.
Both are divided by the action space's top speed of 4 m/s: about 1 for a car racing flat out.

Why this shape (measured in docs/tracks.md, "The generalisation benchmark"). A lap of L metres at
pace p takes 15 L / (4 p) steps, so paying p per step makes every lap worth the same whatever the
pace, and speed earns nothing. Paying p^2 (the squared pace) makes a lap worth 15 L p / 4: laps
pay in proportion to their speed. As an average over the episode, it pays one step's fast action
little and mostly pays for staying on the road: it lapped the most official tracks, slowly.
Paying p times the speed along the track is worth about the same over a lap, but pays a fast
step at once: it lapped fewer tracks, fast. Half of each lapped many tracks at speed.

Finishing the lap pays a bonus of 100 steps of the squared final pace. With a wheel off the road
the step pays almost nothing (DeepRacer's usual 1e-3).
"""

import math

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
    waypoints = params["waypoints"]
    behind, ahead = params["closest_waypoints"]
    track_direction = math.atan2(
        waypoints[ahead][1] - waypoints[behind][1], waypoints[ahead][0] - waypoints[behind][0]
    )
    cosine = math.cos(math.radians(params["heading"]) - track_direction)
    along = params["speed"] * max(cosine, 0.0) / TOP_SPEED
    reward = pace * (pace + along) / 2.0
    if params["progress"] >= 100:
        reward += FINISH_BONUS_STEPS * pace**2
    return float(max(reward, OFF_ROAD_REWARD))
