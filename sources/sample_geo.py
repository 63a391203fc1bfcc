"""Schematic district outlines for the demo's sample (``lagesbild sample``): each district is the part of a box
around the municipality's district centres that lies nearer its own centre than any other's (a Voronoi cell).
They let the demo draw its maps; they are not real boundaries (the README and the sample say so)."""
from __future__ import annotations

import json
from pathlib import Path


def _clip(poly: list[tuple[float, float]], a: float, b: float, c: float) -> list[tuple[float, float]]:
    """The part of a convex polygon where a*x + b*y <= c (Sutherland–Hodgman against one half-plane)."""
    out = []
    for i, p in enumerate(poly):
        q = poly[(i + 1) % len(poly)]
        fp, fq = a * p[0] + b * p[1] - c, a * q[0] + b * q[1] - c
        if fp <= 0:
            out.append(p)
        if (fp < 0 < fq) or (fq < 0 < fp):
            t = fp / (fp - fq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def cells(points: list[tuple[float, float]], margin: tuple[float, float] = (0.08, 0.05)) -> list[list[tuple[float, float]]]:
    """One convex cell per point (lon, lat) within the points' box widened by ``margin``."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    box = [(min(xs) - margin[0], min(ys) - margin[1]), (max(xs) + margin[0], min(ys) - margin[1]),
           (max(xs) + margin[0], max(ys) + margin[1]), (min(xs) - margin[0], max(ys) + margin[1])]
    out = []
    for i, p in enumerate(points):
        poly = box
        for j, q in enumerate(points):
            if i != j:  # nearer p than q: (q - p) . x <= (|q|² - |p|²) / 2
                poly = _clip(poly, q[0] - p[0], q[1] - p[1], (q[0] ** 2 + q[1] ** 2 - p[0] ** 2 - p[1] ** 2) / 2)
        out.append(poly)
    return out


def write_areas_geojson(path: Path, municipality: str, districts: list[tuple[str, str, float, float]]) -> Path:
    """districts: (code, name, lat, lon). The centre is written as Latitud/Longitud (the area's point on maps)."""
    shapes = cells([(lon, lat) for _, _, lat, lon in districts])
    features = []
    for (code, name, lat, lon), ring in zip(districts, shapes):
        ring = [[round(x, 5), round(y, 5)] for x, y in ring]
        features.append({"type": "Feature", "properties": {
            "Områdeskod": code, "Områdesnamn": name, "Kommunkod": municipality, "Områdestyp": "Kommundel",
            "Latitud": f"{lat:.4f}", "Longitud": f"{lon:.4f}", "Gräns": "schematisk (demodata)"},
            "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1),
                    encoding="utf-8")
    return path
