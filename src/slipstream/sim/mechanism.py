"""DeepRacer's car as Gazebo builds it: a planar rigid body on four wheels with friction contacts.

The equations, the parameters and where each comes from are in docs/car.md ("The mechanism
model"). In short, for a body with mass m and yaw inertia I_z (URDF) at base_link, body-frame
velocity (vx, vy) and yaw rate r:

  hinge        delta' = (delta_cmd - delta) / tau_h        both front hinges at one angle
  wheels       u = min(v_cmd / 0.035, 100 rad/s) * rho     all four driven surfaces at one speed
  contact i    c_i = (vx - r y_i, vy + r x_i)              velocity of wheel i's contact point
               s_l = c_i . e_i - u,  s_t = c_i . n_i       slip along / across its rolling direction
               F_l = -mu N_i phi(s_l),  F_t = -mu N_i phi(s_t),  phi(s) = s / sqrt(s^2 + eps^2)
  body         m (vx' - r vy) = sum F_x,  m (vy' + r vx) = sum F_y,  I_z r' = sum (x_i F_y - y_i F_x)

(e_i, n_i: the wheel's rolling and sideways unit vectors, turned by delta for the fronts; each
direction saturating on its own at mu N_i is ODE's friction pyramid, made smooth by eps.)

`derivatives_arrays` is that right-hand side in numpy, written independently of the integrator
`mechanism_kernel` (numba). The kernel takes each of its sub-steps as: the hinge lag exactly, then
(vx, vy, r) by one linearised trapezoidal step with the exact Jacobian of the contact forces
(second order, and A-stable, so stiff contacts at low speed or small eps cannot blow up), then the pose with the
sub-step's mean velocities at the mid-point heading.
"""

from __future__ import annotations

import math

import numba
import numpy as np

N_WHEELS = 4


def smooth_sign(s: np.ndarray, eps: float) -> np.ndarray:
    """phi(s) = s / sqrt(s^2 + eps^2): Coulomb's sign(s), smoothed over slip speeds ~eps."""
    return s / np.sqrt(s * s + eps * eps)


def contact_slips(
    vx: np.ndarray,
    vy: np.ndarray,
    r: np.ndarray,
    delta: np.ndarray,
    u: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Slip velocities (N, 4) of the wheels' contacts along (s_l) and across (s_t) their rolling
    directions, for a body moving at (vx, vy, r) (a point at x = y = 0's velocity and the yaw
    rate), front wheels (px > 0) at hinge angle delta, driven surfaces at speed u; wheels at
    (px, py) from that point."""
    vx, vy, r, delta, u = (np.asarray(a, np.float64)[:, None] for a in (vx, vy, r, delta, u))
    angle = np.where(np.asarray(px)[None, :] > 0.0, delta, 0.0)
    c, s = np.cos(angle), np.sin(angle)
    cx = vx - r * py[None, :]
    cy = vy + r * px[None, :]
    return c * cx + s * cy - u, -s * cx + c * cy


def derivatives_arrays(
    yaw: np.ndarray,
    vx: np.ndarray,
    delta: np.ndarray,
    vy: np.ndarray,
    r: np.ndarray,
    steer_cmd: np.ndarray,
    speed_cmd: np.ndarray,
    fitted: np.ndarray,
    body: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """d/dt of (x, y, yaw, vx, delta, vy, r) for commands already clipped (steering in rad).

    `fitted` = (mu, eps, rho, tau_h); `body` = `CarParams.body_vector()`: mass, I_z, 1 / command
    wheel radius, wheel speed limit, wheel x (4), wheel y (4), static loads (4), centre of mass x,
    its height (0: static loads), wheelbase, track; wheel x and y relative to the centre of mass.
    vy is base_link's; the forces act on the centre of mass.
    """
    mu, eps, rho, tau_h = fitted
    mass, i_z, inv_cmd_radius, omega_max = body[0], body[1], body[2], body[3]
    px, py, load, x_cg = body[4:8], body[8:12], body[12:16], body[16]
    vy_base = vy
    vy = vy_base + r * x_cg  # the centre of mass's sideways velocity
    u = np.minimum(speed_cmd * inv_cmd_radius, omega_max) * rho

    s_l, s_t = contact_slips(vx, vy, r, delta, u, px, py)
    angle = np.where(px[None, :] > 0.0, delta[:, None], 0.0)
    c, s = np.cos(angle), np.sin(angle)

    def contact_forces(shift_x, shift_y):
        n = np.maximum(load - shift_x[:, None] * np.sign(px) - shift_y[:, None] * np.sign(py), 0.0)
        f_l = -mu * n * smooth_sign(s_l, eps)
        f_t = -mu * n * smooth_sign(s_t, eps)
        gx = c * f_l - s * f_t
        gy = s * f_l + c * f_t
        return gx.sum(1), gy.sum(1), (px * gy - py * gx).sum(1)

    fx, fy, mz = contact_forces(np.zeros_like(vx), np.zeros_like(vx))
    h_cg, axle_length, track_width = body[17], body[18], body[19]
    if h_cg > 0.0:  # each wheel's load shifted by m a h / (2 L) along, m a h / (2 T) across
        fx, fy, mz = contact_forces(
            fx * h_cg / (2.0 * axle_length), fy * h_cg / (2.0 * track_width)
        )
    cy_, sy_ = np.cos(yaw), np.sin(yaw)
    r_rate = mz / i_z
    return (
        vx * cy_ - vy_base * sy_,
        vx * sy_ + vy_base * cy_,
        r,
        fx / mass + r * vy,
        (steer_cmd - delta) / tau_h,
        fy / mass - r * vx - r_rate * x_cg,
        r_rate,
    )


@numba.njit(cache=True, inline="always")
def _contact(a, b, q, cd, sd, u, mu, eps2, body, dn_x, dn_y):
    """Generalised contact force (f0, f1, f2) on (vx, vy, r) of the centre of mass and its
    Jacobian (j00, j01, j02, j11, j12, j22; symmetric, <= 0) for loads shifted by dn_x per unit
    of x (front lighter when dn_x > 0) and dn_y per unit of y."""
    f0 = 0.0
    f1 = 0.0
    f2 = 0.0
    j00 = 0.0
    j01 = 0.0
    j02 = 0.0
    j11 = 0.0
    j12 = 0.0
    j22 = 0.0
    for i in range(4):
        wx, wy = body[4 + i], body[8 + i]
        load = max(
            body[12 + i] - dn_x * math.copysign(1.0, wx) - dn_y * math.copysign(1.0, wy), 0.0
        )
        if wx > 0.0:
            c, s = cd, sd
        else:
            c, s = 1.0, 0.0
        ml = mu * load
        # along the rolling direction: s_l = a_l . (vx, vy, r) - u
        l0, l1, l2 = c, s, s * wx - c * wy
        sl = l0 * a + l1 * b + l2 * q - u
        rl = 1.0 / math.sqrt(sl * sl + eps2)
        fl = -ml * sl * rl
        kl = ml * eps2 * rl * rl * rl
        # across it: s_t = a_t . (vx, vy, r)
        t0, t1, t2 = -s, c, c * wx + s * wy
        st = t0 * a + t1 * b + t2 * q
        rt = 1.0 / math.sqrt(st * st + eps2)
        ft = -ml * st * rt
        kt = ml * eps2 * rt * rt * rt
        f0 += fl * l0 + ft * t0
        f1 += fl * l1 + ft * t1
        f2 += fl * l2 + ft * t2
        j00 -= kl * l0 * l0 + kt * t0 * t0
        j01 -= kl * l0 * l1 + kt * t0 * t1
        j02 -= kl * l0 * l2 + kt * t0 * t2
        j11 -= kl * l1 * l1 + kt * t1 * t1
        j12 -= kl * l1 * l2 + kt * t1 * t2
        j22 -= kl * l2 * l2 + kt * t2 * t2
    return f0, f1, f2, j00, j01, j02, j11, j12, j22


@numba.njit(cache=True)
def mechanism_kernel(x, y, yaw, vx, delta, vy, r, steer_cmd, speed_cmd, p, body, h, substeps, out):
    """Advance cars by `substeps` sub-steps of length h; writes the 7 state rows of `out`."""
    mu, eps, rho, tau_h = p[0], p[1], p[2], p[3]
    mass, i_z, inv_cmd_radius, omega_max, x_cg = body[0], body[1], body[2], body[3], body[16]
    h_cg, axle_length, track_width = body[17], body[18], body[19]
    # load shift per wheel per unit of generalised force: m a h / (2 L) with a = f / m
    k_x = h_cg / (2.0 * axle_length)
    k_y = h_cg / (2.0 * track_width)
    hh = 0.5 * h  # linearised trapezoidal rule: second order, A-stable
    eps2 = eps * eps
    decay = math.exp(-h / tau_h)
    mean_decay = tau_h * (1.0 - decay) / h
    for n in range(x.shape[0]):
        u = min(speed_cmd[n] * inv_cmd_radius, omega_max) * rho
        d_t = steer_cmd[n]
        # b: the centre of mass's sideways velocity (base_link's is b - q x_cg)
        xi, yi, th, a, d, q = x[n], y[n], yaw[n], vx[n], delta[n], r[n]
        b = vy[n] + q * x_cg
        for _ in range(substeps):
            d_mid = d_t + (d - d_t) * mean_decay
            d = d_t + (d - d_t) * decay
            cd, sd = math.cos(d_mid), math.sin(d_mid)
            if h_cg > 0.0:  # loads shifted by the accelerations the static loads give
                f = _contact(a, b, q, cd, sd, u, mu, eps2, body, 0.0, 0.0)
                f = _contact(a, b, q, cd, sd, u, mu, eps2, body, f[0] * k_x, f[1] * k_y)
            else:
                f = _contact(a, b, q, cd, sd, u, mu, eps2, body, 0.0, 0.0)
            f0, f1, f2, j00, j01, j02, j11, j12, j22 = f
            # rates and their Jacobian (contact forces plus the body-frame terms r vy, -r vx)
            g0 = f0 / mass + q * b
            g1 = f1 / mass - q * a
            g2 = f2 / i_z
            a00 = 1.0 - hh * j00 / mass
            a01 = -hh * (j01 / mass + q)
            a02 = -hh * (j02 / mass + b)
            a10 = -hh * (j01 / mass - q)
            a11 = 1.0 - hh * j11 / mass
            a12 = -hh * (j12 / mass - a)
            a20 = -hh * j02 / i_z
            a21 = -hh * j12 / i_z
            a22 = 1.0 - hh * j22 / i_z
            # solve (I - h/2 J) dz = h g by Cramer's rule
            c00 = a11 * a22 - a12 * a21
            c01 = a12 * a20 - a10 * a22
            c02 = a10 * a21 - a11 * a20
            det = a00 * c00 + a01 * c01 + a02 * c02
            r0, r1, r2 = h * g0, h * g1, h * g2
            da = (r0 * c00 + a01 * (a12 * r2 - r1 * a22) + a02 * (r1 * a21 - a11 * r2)) / det
            db = (a00 * (r1 * a22 - a12 * r2) + r0 * c01 + a02 * (a10 * r2 - r1 * a20)) / det
            dq = (a00 * (a11 * r2 - r1 * a21) + a01 * (r1 * a20 - a10 * r2) + r0 * c02) / det
            a_mid = a + 0.5 * da
            q_mid = q + 0.5 * dq
            b_mid = b + 0.5 * db - q_mid * x_cg
            th_mid = th + 0.5 * h * q_mid
            c, s = math.cos(th_mid), math.sin(th_mid)
            xi += h * (a_mid * c - b_mid * s)
            yi += h * (a_mid * s + b_mid * c)
            th += h * q_mid
            a, b, q = a + da, b + db, q + dq
        out[0, n] = xi
        out[1, n] = yi
        out[2, n] = (th + math.pi) % (2.0 * math.pi) - math.pi
        out[3, n] = a
        out[4, n] = d
        out[5, n] = b - q * x_cg
        out[6, n] = q
