"""Small geometry helpers for area files: polygon centroids and SWEREF 99 TM (EPSG:3006) -> WGS 84.

No GIS dependency: area files only need a representative point per area for maps and labels.
The projection inverse follows Lantmäteriet's Gauss–Krüger formulas (accuracy well below a metre in Sweden).
"""
from __future__ import annotations

import math

# GRS 80 ellipsoid, SWEREF 99 TM
_A = 6378137.0
_F = 1 / 298.257222101
_LAMBDA0 = math.radians(15.0)
_K0 = 0.9996
_FN, _FE = 0.0, 500000.0


def sweref99tm_to_wgs84(northing: float, easting: float) -> tuple[float, float]:
    """(northing, easting) in metres -> (lat, lon) in degrees."""
    e2 = _F * (2 - _F)
    n = _F / (2 - _F)
    a_roof = _A / (1 + n) * (1 + n ** 2 / 4 + n ** 4 / 64)
    d1 = n / 2 - 2 * n ** 2 / 3 + 37 * n ** 3 / 96 - n ** 4 / 360
    d2 = n ** 2 / 48 + n ** 3 / 15 - 437 * n ** 4 / 1440
    d3 = 17 * n ** 3 / 480 - 37 * n ** 4 / 840
    d4 = 4397 * n ** 4 / 161280
    a_star = e2 + e2 ** 2 + e2 ** 3 + e2 ** 4
    b_star = -(7 * e2 ** 2 + 17 * e2 ** 3 + 30 * e2 ** 4) / 6
    c_star = (224 * e2 ** 3 + 889 * e2 ** 4) / 120
    d_star = -(4279 * e2 ** 4) / 1260
    xi = (northing - _FN) / (_K0 * a_roof)
    eta = (easting - _FE) / (_K0 * a_roof)
    xi_p = xi
    eta_p = eta
    for k, d in enumerate((d1, d2, d3, d4), start=1):
        xi_p -= d * math.sin(2 * k * xi) * math.cosh(2 * k * eta)
        eta_p -= d * math.cos(2 * k * xi) * math.sinh(2 * k * eta)
    phi_star = math.asin(math.sin(xi_p) / math.cosh(eta_p))
    d_lambda = math.atan(math.sinh(eta_p) / math.cos(xi_p))
    s2 = math.sin(phi_star) ** 2
    lat = phi_star + math.sin(phi_star) * math.cos(phi_star) * (a_star + b_star * s2 + c_star * s2 ** 2 + d_star * s2 ** 3)
    return math.degrees(lat), math.degrees(_LAMBDA0 + d_lambda)


def _ring_centroid(ring: list) -> tuple[float, float, float]:
    """Signed area and centroid of a closed ring of [x, y] points (shoelace)."""
    area = cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    area /= 2
    if abs(area) < 1e-12:
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        return 0.0, sum(xs) / len(xs), sum(ys) / len(ys)
    return area, cx / (6 * area), cy / (6 * area)


def centroid(geometry: dict) -> tuple[float, float] | None:
    """Area-weighted centroid (x, y) of a Point, Polygon or MultiPolygon in its own coordinates."""
    kind = (geometry or {}).get("type")
    coords = (geometry or {}).get("coordinates")
    if not coords:
        return None
    if kind == "Point":
        return float(coords[0]), float(coords[1])
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if polygons is None:
        return None
    total = sx = sy = 0.0
    for poly in polygons:
        for i, ring in enumerate(poly):
            pts = [(float(p[0]), float(p[1])) for p in ring]
            if len(pts) > 1 and pts[0] == pts[-1]:
                pts = pts[:-1]
            a, x, y = _ring_centroid(pts)
            a = abs(a) if i == 0 else -abs(a)  # holes subtract
            total += a
            sx += a * x
            sy += a * y
    if abs(total) < 1e-12:
        return None
    return sx / total, sy / total


MAX_RING_POINTS = 400  # points kept per ring for the pages' maps (every k-th point; the ring stays closed)


def outline(geometry: dict, projected: bool = False) -> str:
    """The outer rings of a Polygon or MultiPolygon in WGS 84 as compact JSON ``[[[lon, lat], ...], ...]``, rounded
    to 4 decimals (≈ 10 m) and thinned to at most MAX_RING_POINTS points per ring: enough to draw an area on a
    municipality map offline, small enough to ship in the page. Empty for other geometries."""
    import json

    kind = (geometry or {}).get("type")
    coords = (geometry or {}).get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if not coords or polygons is None:
        return ""
    rings = []
    for poly in polygons:
        if not poly:
            continue
        ring = [(float(p[0]), float(p[1])) for p in poly[0]]
        if projected:
            ring = [(lo, la) for la, lo in (sweref99tm_to_wgs84(y, x) for x, y in ring)]
        step = max(1, math.ceil(len(ring) / MAX_RING_POINTS))
        kept = ring[::step] + ([ring[-1]] if (len(ring) - 1) % step else [])
        pts: list[list[float]] = []
        for x, y in kept:
            p = [round(x, 4), round(y, 4)]
            if not pts or p != pts[-1]:
                pts.append(p)
        if len(pts) >= 3:
            rings.append(pts)
    return json.dumps(rings, separators=(",", ":")) if rings else ""
