import math

import numpy as np
import pytest

from discmri.morphometry.frame import Frame, frame_from_points


def wedge_points(angle_deg, wedge_deg=10.0, depth=36.0, height=10.0, width=44.0, step=0.4):
    """Voxel-like points of a wedge disc whose bisector is turned by ``angle_deg``."""
    p, q, x = np.meshgrid(np.arange(-depth / 2, depth / 2, step),
                          np.arange(-15, 15, step), np.arange(-width / 2, width / 2, 2.0),
                          indexing="ij")
    t = math.tan(math.radians(wedge_deg) / 2)
    inside = np.abs(q) <= height / 2 + p * t
    p, q, x = p[inside], q[inside], x[inside]
    a = math.radians(angle_deg)
    ap = np.array([0.0, math.cos(a), math.sin(a)])
    si = np.array([0.0, -math.sin(a), math.cos(a)])
    centre = np.array([1.0, 20.0, -40.0])
    return centre + p[:, None] * ap + q[:, None] * si + x[:, None] * np.array([1.0, 0, 0]), si


@pytest.mark.parametrize("angle", [-25.0, 0.0, 15.0, 40.0])
def test_principal_axes_of_a_wedge_are_its_bisector(angle):
    pts, si = wedge_points(angle)
    frame = frame_from_points(pts)
    assert math.degrees(math.acos(min(1.0, frame.si @ si))) < 0.3
    assert frame.ap[1] > 0 and frame.si[2] > 0
    assert np.allclose(np.cross(frame.si, frame.lr), frame.ap, atol=1e-12)


def test_cranial_point_sets_the_direction_of_si():
    pts, si = wedge_points(10.0)
    frame = frame_from_points(pts, cranial=pts.mean(axis=0) - 30 * si)
    assert frame.si @ si < -0.99


def test_local_world_round_trip_and_rotation_flattens_a_slope():
    frame = frame_from_points(wedge_points(12.0)[0])
    p, q, x = np.array([3.0, -4.0]), np.array([1.5, 2.0]), np.array([0.5, -2.0])
    back = frame.to_local(frame.to_world(p, q, x))
    assert np.allclose(back, (p, q, x))
    slope = 0.2  # surface q = 1 + 0.2 p in the frame
    pts = frame.to_world(np.linspace(-10, 10, 5), 1.0 + slope * np.linspace(-10, 10, 5))
    turned = frame.rotated(math.atan(slope))
    _, q_new, _ = turned.to_local(pts)
    assert np.ptp(q_new) < 1e-9
    assert isinstance(turned, Frame)
