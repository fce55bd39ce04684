"""Drawing the parametric skull as an X-ray: attenuation layers -> exposure -> film response -> noise.

Bone adds attenuation, air (sinuses, airway, ear canal) removes it; the image is ``1 - exp(-k * sum)``
so overlapping structures add up as in a projection radiograph, then blur, uneven exposure and
quantum noise make it look acquired rather than drawn.
"""
from __future__ import annotations

import math

import numpy as np

SHIFT = 4  # cv2 fixed-point bits: sub-pixel drawing
SOFT_TISSUE = 0.45  # attenuation of the head's soft tissue; bone adds 0.5-1, enamel/metal more


def catmull_rom(points, closed: bool = False, samples: int = 10) -> np.ndarray:
    """A smooth curve through every point (so landmarks lie on the contour they belong to)."""
    p = np.asarray(points, np.float64)
    if len(p) < 3:
        return p
    ext = np.vstack([p[-1], p, p[0], p[1]]) if closed else np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    segments = len(p) if closed else len(p) - 1
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    out = []
    for i in range(segments):
        p0, p1, p2, p3 = ext[i], ext[i + 1], ext[i + 2], ext[i + 3]
        out.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (-p0 + 3 * p1 - 3 * p2 + p3) * t ** 3))
    if not closed:
        out.append(p[-1][None])
    return np.vstack(out)


class Film:
    """An attenuation map in image pixels, drawn in millimetres (each shape touches only its bounding box)."""

    def __init__(self, hw: tuple[int, int], origin_mm: np.ndarray, spacing: float):
        self.h, self.w = hw
        self.origin = np.asarray(origin_mm, np.float64)
        self.spacing = float(spacing)
        self.att = np.zeros(hw, np.float32)

    def px(self, pts_mm) -> np.ndarray:
        return (np.asarray(pts_mm, np.float64) - self.origin) / self.spacing

    def _roi(self, pts_px: np.ndarray, pad: float):
        x0 = int(max(0, np.floor(pts_px[:, 0].min() - pad)))
        y0 = int(max(0, np.floor(pts_px[:, 1].min() - pad)))
        x1 = int(min(self.w, np.ceil(pts_px[:, 0].max() + pad) + 1))
        y1 = int(min(self.h, np.ceil(pts_px[:, 1].max() + pad) + 1))
        return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None

    def _fixed(self, pts_px: np.ndarray, roi) -> np.ndarray:
        local = pts_px - np.array([roi[0], roi[1]])
        return np.round(local * (1 << SHIFT)).astype(np.int32).reshape(-1, 1, 2)

    def _add(self, roi, mask: np.ndarray, density: float, texture: np.ndarray | None = None) -> None:
        x0, y0, x1, y1 = roi
        m = mask.astype(np.float32) * (density / 255.0)
        if texture is not None:
            m *= texture[y0:y1, x0:x1]
        self.att[y0:y1, x0:x1] += m

    def mask(self, polygons_mm, roi=None):
        """Union of filled polygons as a uint8 mask over ``roi`` (default: their bounding box)."""
        import cv2

        pts = [self.px(p) for p in polygons_mm]
        roi = roi or self._roi(np.vstack(pts), 2)
        if roi is None:
            return None, None
        m = np.zeros((roi[3] - roi[1], roi[2] - roi[0]), np.uint8)
        for p in pts:
            cv2.fillPoly(m, [self._fixed(p, roi)], 255, cv2.LINE_AA, SHIFT)
        return roi, m

    def add_mask(self, roi, mask, density: float, texture=None) -> None:
        if roi is not None:
            self._add(roi, mask, density, texture)

    def fill(self, pts_mm, density: float, texture=None) -> None:
        roi, m = self.mask([pts_mm])
        self.add_mask(roi, m, density, texture)

    def stroke(self, pts_mm, density: float, width_mm: float, closed: bool = False) -> None:
        import cv2

        pts = self.px(pts_mm)
        width = max(1, int(round(width_mm / self.spacing)))
        roi = self._roi(pts, width + 2)
        if roi is None:
            return
        m = np.zeros((roi[3] - roi[1], roi[2] - roi[0]), np.uint8)
        cv2.polylines(m, [self._fixed(pts, roi)], closed, 255, width, cv2.LINE_AA, SHIFT)
        self._add(roi, m, density)

    def disc(self, centre_mm, radius_mm: float, density: float, ring_mm: float | None = None) -> None:
        import cv2

        c = self.px(np.asarray(centre_mm, float)[None])
        r = radius_mm / self.spacing
        roi = self._roi(np.vstack([c - r, c + r]), 3 + (ring_mm or 0) / self.spacing)
        if roi is None:
            return
        m = np.zeros((roi[3] - roi[1], roi[2] - roi[0]), np.uint8)
        centre = tuple(int(v) for v in self._fixed(c, roi).reshape(2))
        thickness = -1 if ring_mm is None else max(1, int(round(ring_mm / self.spacing)))
        cv2.circle(m, centre, int(round(r * (1 << SHIFT))), 255, thickness, cv2.LINE_AA, SHIFT)
        self._add(roi, m, density)


def _smooth_noise(rng, hw, sigma_px: float) -> np.ndarray:
    import cv2

    noise = rng.standard_normal(hw).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigma_px)
    return noise / (noise.std() + 1e-6)


def _tooth(film: Film, apex, tip, root_w: float, crown_w: float, density=1.1, enamel=0.8) -> None:
    """A tooth from root apex to incisal tip/cusp: tapered root, wider crown, bright enamel cap."""
    a, t = np.asarray(apex, float), np.asarray(tip, float)
    axis = t - a
    length = np.linalg.norm(axis)
    u = axis / length
    nrm = np.array([-u[1], u[0]])
    at = lambda f, w: a + u * (f * length) + nrm * w  # noqa: E731
    outline = [at(0, 0.3), at(0.35, root_w / 2), at(0.62, crown_w / 2), at(0.9, crown_w / 2.6), t,
               at(0.9, -crown_w / 2.6), at(0.62, -crown_w / 2), at(0.35, -root_w / 2), at(0, -0.3)]
    film.fill(catmull_rom(outline, closed=True, samples=6), density)
    crown = [at(0.62, crown_w / 2), at(0.9, crown_w / 2.6), t, at(0.9, -crown_w / 2.6), at(0.62, -crown_w / 2),
             at(0.75, 0)]
    film.fill(catmull_rom(crown, closed=True, samples=6), enamel)
    film.stroke(catmull_rom([at(0.05, 0), at(0.6, 0)]), -0.25, 0.8)  # pulp canal


def _molar(film: Film, cusp, up: bool, width: float = 10.0, crown_h: float = 7.0, root_h: float = 12.0) -> None:
    """A molar/premolar seen from the side; ``cusp`` is its mesial cusp tip (the landmark)."""
    c = np.asarray(cusp, float)
    s = -1.0 if up else 1.0  # roots go up for upper teeth
    x0 = c[0] - width * 0.85
    crown = [c, (c[0] - width * 0.45, c[1] + s * 1.2), (x0, c[1] + s * 0.2), (x0 - 0.5, c[1] + s * crown_h),
             (c[0] + 0.6, c[1] + s * crown_h)]
    roots = [(x0 + 0.5, c[1] + s * crown_h), (x0 + 1.5, c[1] + s * (crown_h + root_h)),
             (x0 + width * 0.4, c[1] + s * (crown_h + 2)), (c[0] - 1, c[1] + s * (crown_h + root_h * 0.9)),
             (c[0] + 0.3, c[1] + s * crown_h)]
    film.fill(catmull_rom(roots, closed=True, samples=5), 0.6)
    film.fill(catmull_rom(crown, closed=True, samples=5), 1.05)


def _vertebra(film: Film, centre, angle_deg: float, w: float, h: float, dens: bool = False) -> None:
    c = np.asarray(centre, float)
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    body = [(-w / 2, -h / 2), (w / 2, -h / 2 + 1), (w / 2 + 0.5, h / 2), (0, h / 2 + 1.5), (-w / 2, h / 2)]
    pts = [c + rot @ np.asarray(p) for p in body]
    film.fill(catmull_rom(pts, closed=True, samples=4), 0.7)
    film.stroke(catmull_rom(pts + [pts[0]], samples=4), 0.35, 1.2)
    arch = [(-w / 2, -h / 3), (-w / 2 - 8, -h / 2.5), (-w / 2 - 20, -h / 4), (-w / 2 - 22, h / 5),
            (-w / 2 - 8, h / 3), (-w / 2, h / 4)]
    film.fill(catmull_rom([c + rot @ np.asarray(p) for p in arch], closed=True, samples=4), 0.3)
    if dens:
        tip = [(-w / 4, -h / 2), (-w / 6, -h / 2 - 14), (w / 6, -h / 2 - 15), (w / 4, -h / 2)]
        film.fill(catmull_rom([c + rot @ np.asarray(p) for p in tip], closed=True, samples=4), 0.7)


def draw_skull(film: Film, p: dict, rng: np.random.Generator) -> None:
    """All anatomy, back to front. ``p``: name -> (x, y) mm from :func:`anatomy.sample_anatomy`."""
    import cv2

    P = lambda *names: [p[n] for n in names]  # noqa: E731
    hw = (film.h, film.w)
    trab = 1.0 + 0.1 * _smooth_noise(rng, hw, 1.2) + 0.08 * _smooth_noise(rng, hw, 6.0)  # trabecular texture

    # head and neck soft tissue: scalp around the vault, unioned with the face/neck in front of the profile
    dome = catmull_rom(P(*[f"v{i}" for i in range(14)]))
    base = catmull_rom([p["v13"], p["mast"] + np.array([4, -8]), p["Ar"] + np.array([2, -8]),
                        p["cl1"] + np.array([0, -12]), p["st2"], p["acb1"] + np.array([0, 4]),
                        p["acb2"] + np.array([0, 6]), p["v0"]])
    vault = np.vstack([dome, base])
    centre = np.mean(dome, axis=0)
    scalp = centre + (vault - centre) * 1.06
    profile = catmull_rom(P("sf0", "sf1", "N'", "sf2", "Pn", "sf3", "Sn", "sf4", "Ls", "sf5", "Li", "sf6", "Pog'",
                            "sf7", "sf8", "sf9", "sf10"))
    face = np.vstack([profile, [[-160.0, 220.0], [-160.0, centre[1]], [p["sf0"][0] - 40, p["sf0"][1] - 30]]])
    roi, head = film.mask([scalp, face], roi=(0, 0, film.w, film.h))
    film.add_mask(roi, head, SOFT_TISSUE)
    # airway (pharynx) and oral/nasal air; tongue and soft palate
    airway = catmull_rom([p["PNS"] + np.array([-4, -4]), p["c2"] + np.array([14, -30]), p["c2"] + np.array([16, 5]),
                          p["c3"] + np.array([16, 0]), p["c5"] + np.array([16, 20]), p["c5"] + np.array([28, 20]),
                          p["c3"] + np.array([28, 0]), p["c2"] + np.array([30, 8]), p["md11"] + np.array([-6, 4]),
                          p["PNS"] + np.array([-2, 12]), p["PNS"] + np.array([6, 2])], closed=True)
    film.fill(airway, -0.42)
    film.fill(catmull_rom([p["PNS"], p["PNS"] + np.array([-9, 9]), p["PNS"] + np.array([-13, 20]),
                           p["PNS"] + np.array([-6, 14]), p["PNS"] + np.array([6, 6])], closed=True), 0.25)
    # skull vault: two bright tables with diploe between; the brain reads as a smooth mid-grey
    inner = np.vstack([centre + (dome - centre) * 0.93, base[::-1][::-1]])
    full = (0, 0, film.w, film.h)
    _, outer_m = film.mask([vault], roi=full)
    _, inner_m = film.mask([inner], roi=full)
    film.add_mask(full, inner_m, 0.35, 1.0 + 0.08 * _smooth_noise(rng, hw, 2.5 * film.w / 512))
    film.add_mask(full, cv2.subtract(outer_m, inner_m), 0.75, trab)
    film.stroke(dome, 0.5, 1.6)
    film.stroke(centre + (dome - centre) * 0.93, 0.45, 1.4)
    film.fill(catmull_rom([p["v0"] + np.array([-4, -2]), p["v1"] + np.array([-5, 3]), p["v0"] + np.array([-10, 6]),
                           p["v0"] + np.array([-9, -1])], closed=True), -0.5)  # frontal sinus
    # cranial base: anterior fossa floor to nasion, sella turcica, sphenoid, clivus, petrous/mastoid
    film.stroke(catmull_rom(P("st4", "acb1", "acb2", "N")), 0.9, 2.4)
    film.stroke(catmull_rom([p["acb1"] + np.array([0, 4]), p["orb"] + np.array([-6, -6]), p["N"] + np.array([-4, 4])]),
                0.5, 1.6)
    film.fill(catmull_rom(P("st3", "sp1", "sp2", "sp3", "cl2", "cl1", "st1", "st2"), closed=True), 0.55, trab)
    film.fill(catmull_rom([p["sp1"] + np.array([-4, 6]), p["sp2"] + np.array([-5, -2]), p["sp3"] + np.array([-3, -8]),
                           p["st2"] + np.array([2, 9])], closed=True), -0.45)  # sphenoid sinus
    film.fill(catmull_rom(P("st0", "st1", "st2", "st3", "st4")
                          + [p["st4"] + np.array([-1, -2]), p["S"] + np.array([0, -2]), p["st0"] + np.array([1, -2])],
                          closed=True), -0.35)  # the pituitary fossa reads darker than the bone around it
    film.stroke(catmull_rom(P("st0", "st1", "st2", "st3", "st4")), 1.1, 1.3)
    film.stroke(catmull_rom([p["st0"], p["st0"] + np.array([-2, -5])]), 0.9, 2.0)  # dorsum sellae
    film.stroke(catmull_rom(P("st1", "cl1", "cl2")), 0.8, 3.0)
    film.fill(catmull_rom([p["mast"] + np.array(d) for d in ((-14, -10), (4, -14), (14, 2), (6, 16), (-10, 18),
                                                             (-18, 4))], closed=True), 0.8, trab)
    # ear rod of the cephalostat: a metal ring around the ear canal, porion at its top
    ring_c = np.asarray(p["Po"]) + np.array([0, 4.5])
    film.disc(ring_c, 4.5, -0.4)
    film.disc(ring_c, 4.5, 1.6, ring_mm=1.0)
    film.fill([ring_c + (-1.5, -4.5), ring_c + (1.5, -4.5), ring_c + (1.5, -200), ring_c + (-1.5, -200)], 0.3)
    # orbit rim (orbitale at its lowest point), nasal bone, key ridge, pterygomaxillary fissure
    orb = np.asarray(p["orb"])
    rim = [orb + (0, -17), orb + (12, -9), orb + (11, 9), np.asarray(p["Or"]), orb + (-11, 10), orb + (-13, -8)]
    film.stroke(catmull_rom(rim, closed=True), 0.55, 1.6, closed=True)
    film.stroke(catmull_rom([p["N"], p["N"] + np.array([7, 10]), p["nb"]]), 0.7, 2.0)
    film.stroke(catmull_rom(P("kr1", "kr2") + [p["kr2"] + np.array([6, 4])]), 0.45, 2.2)
    film.stroke(catmull_rom([p["pt1"], p["pt1"] + np.array([4, 10]), p["pt2"], p["pt1"] + np.array([-3, 12]),
                             p["pt1"]]), 0.4, 1.0)
    # maxilla: body, sinus, palate (PNS-ANS), teeth
    film.fill(catmull_rom(P("PNS", "pl1", "pl2", "ANS", "A", "mx1", "mx2", "mx3", "mx4", "mx5"), closed=True),
              0.55, trab)
    film.fill(catmull_rom([p["sin"] + np.array(d) for d in ((-12, -6), (8, -10), (14, 4), (6, 12), (-10, 10))],
                          closed=True), -0.35)
    film.fill(catmull_rom(P("PNS", "pl1", "pl2", "ANS", "pl3", "pl4"), closed=True), 0.7)
    _molar(film, np.asarray(p["UMT"]) + (-11, 0.5), up=True)
    _molar(film, p["UMT"], up=True)
    _molar(film, p["UPM"], up=True, width=7.0, crown_h=7.5, root_h=13)
    _molar(film, np.asarray(p["UPM"]) + (7.5, 0.5), up=True, width=7.0, crown_h=7.5, root_h=13)
    _tooth(film, p["UIA"], p["UIT"], root_w=5.0, crown_w=7.5)
    # mandible: body and ramus with dense cortex, symphysis, canal, lower teeth
    outline = P("Co", "md0", "Ar", "md1", "R", "md2", "Go", "md3", "md4", "md5", "Me", "Gn", "Pog", "md6", "B",
                "md7", "md8", "md9", "md10", "md11", "md12", "md13", "md14", "md15", "md16")
    mand = catmull_rom(outline, closed=True)
    film.fill(mand, 0.6, trab)
    film.stroke(catmull_rom(P("md3", "md4", "md5", "Me", "Gn", "Pog", "md6", "B")), 0.75, 2.6)
    film.stroke(catmull_rom(P("md2", "Go", "md3")), 0.5, 2.0)
    film.stroke(mand, 0.35, 1.2, closed=True)
    canal = [p["md12"] + np.array([-3, 20]), p["md3"] + np.array([8, -10]), p["md5"] + np.array([-8, -12])]
    film.stroke(catmull_rom(canal), -0.2, 1.4)  # mandibular canal
    film.fill(catmull_rom([p["B"] + np.array([-5, 0]), p["Pog"] + np.array([-7, 0]), p["Gn"] + np.array([-6, -3]),
                           p["Me"] + np.array([-2, -4]), p["LIA"] + np.array([-2, 0])], closed=True), 0.25)
    _molar(film, np.asarray(p["LMT"]) + (-11, 0.5), up=False)
    _molar(film, p["LMT"], up=False)
    _molar(film, p["LPM"], up=False, width=7.0, crown_h=7.5, root_h=14)
    _molar(film, np.asarray(p["LPM"]) + (7.5, 0.3), up=False, width=7.0, crown_h=7.5, root_h=14)
    _tooth(film, p["LIA"], p["LIT"], root_w=4.5, crown_w=6.0)
    # hyoid and cervical spine (C2 with the dens, C3-C5)
    film.fill(catmull_rom([p["hy"] + np.array(d) for d in ((-3, -3), (5, -2), (5, 3), (-2, 3), (-16, -3), (-15, -5))],
                          closed=True), 0.6)
    tilt = math.degrees(math.atan2(p["c5"][0] - p["c2"][0], p["c5"][1] - p["c2"][1])) * -1
    _vertebra(film, p["c2"], tilt, 17, 26, dens=True)
    for name in ("c3", "c4", "c5"):
        _vertebra(film, p[name], tilt, 17, 16)


def draw_ruler(film: Film, p1, p2, ruler_mm: float) -> None:
    """A radiolucent ruler with metal millimetre ticks and metal balls at p1 and p2."""
    p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
    u = (p2 - p1) / np.linalg.norm(p2 - p1)
    nrm = np.array([u[1], -u[0]])
    start, end = p1 - u * 8, p2 + u * 12
    film.fill([start + nrm * 2, end + nrm * 2, end - nrm * 5, start - nrm * 5], 0.35)
    for mm in range(-6, int(ruler_mm) + 11):
        length = 3.5 if mm % 10 == 0 else (2.5 if mm % 5 == 0 else 1.5)
        a = p1 + u * mm - nrm * 4.5
        film.stroke([a, a + nrm * length], 1.2, 0.35)
    film.disc(p1, 0.9, 2.5)
    film.disc(p2, 0.9, 2.5)


def expose(att: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Attenuation -> 8-bit radiograph: scatter blur, film response, uneven exposure, noise."""
    import cv2

    h, w = att.shape
    k = rng.uniform(1.0, 1.35)
    att = cv2.GaussianBlur(att, (0, 0), rng.uniform(0.5, 0.9))
    img = 1.0 - np.exp(-k * np.clip(att, 0, None))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gx, gy = rng.normal(0, 0.12, 2)
    field = 1.0 + gx * (xx / w - 0.5) + gy * (yy / h - 0.5)
    r2 = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2
    field *= 1.0 - rng.uniform(0.05, 0.2) * r2  # heel effect / vignetting
    img = img * field + rng.uniform(0.03, 0.08)
    small = cv2.resize(img, (max(1, w // 8), max(1, h // 8)), interpolation=cv2.INTER_AREA)
    veil = cv2.resize(cv2.GaussianBlur(small, (0, 0), 3.0), (w, h), interpolation=cv2.INTER_LINEAR)
    img += veil * rng.uniform(0.05, 0.15)  # scatter veil
    img += rng.normal(0, rng.uniform(0.012, 0.025), img.shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 0.6))
    # the edge enhancement clinical software applies to every cephalogram
    img = img + rng.uniform(0.4, 0.8) * (img - cv2.GaussianBlur(img, (0, 0), 3.0 * w / 512))
    lo, hi = np.percentile(img, [0.5, 99.8])
    img = (img - lo) / max(hi - lo, 1e-6)
    gamma = rng.uniform(0.85, 1.15)
    img = np.clip(img, 0, 1) ** gamma
    return np.clip(img * 235 + 10, 0, 255).astype(np.uint8)
