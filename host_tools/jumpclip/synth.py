"""Labelled synthetic traces from a simple physical model of jumping and everyday movement.

They exercise the code (parsing, detector logic, the virtual board); they do not measure
accuracy. Only real recordings do that (`make eval`).

The model works on the specific force along the body's vertical axis, in g: 1 g standing,
about 0 g in free fall. A countermovement jump is unweighting (a dip below 1 g), braking and
push-off (a peak of 2-4 g), take-off, flight (near 0 g), and a landing impulse that rises in
~20 ms and rings down. A placement factor scales the landing (the property tests vary it),
a fixed tilt spreads gravity over the axes, and noise and clipping at the range finish it.
The clip is worn at the waist; no shoe or ankle scenario is offered (README: where to wear it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

RATE_HZ = 200


@dataclass
class Builder:
    rng: np.random.Generator
    rate: int = RATE_HZ
    placement: str = "waist"
    v: list[np.ndarray] = field(default_factory=list)  # vertical specific force, in g
    landings: list[float] = field(default_factory=list)  # true landing-peak times (s)
    n: int = 0

    def add(self, seg: np.ndarray) -> None:
        self.v.append(seg)
        self.n += len(seg)

    def t_now(self) -> float:
        return self.n / self.rate

    def samples(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.rate)))

    # --- building blocks ---
    def stand(self, seconds: float, sway: float = 0.02) -> None:
        k = self.samples(seconds)
        t = np.arange(k) / self.rate
        self.add(1.0 + sway * np.sin(2 * np.pi * 0.3 * t + self.rng.uniform(0, 6)))

    def bump(self, seconds: float, height: float, base: float = 1.0) -> None:
        """A half-sine excursion from base to base + height over `seconds`."""
        k = self.samples(seconds)
        self.add(base + height * np.sin(np.pi * (np.arange(k) + 0.5) / k))

    def landing(self, peak: float, ring: bool = True) -> None:
        scale = 2.2 if self.placement == "shoe" else 1.0
        peak = 1.0 + (peak - 1.0) * scale
        rise = self.samples(self.rng.uniform(0.012, 0.025))
        up = np.linspace(0.2, peak, rise + 1)[1:]
        self.landings.append((self.n + rise - 1) / self.rate)
        k = self.samples(0.45)
        t = np.arange(1, k + 1) / self.rate
        tau = self.rng.uniform(0.025, 0.045)
        decay = (peak - 1.0) * np.exp(-t / tau)
        if ring:
            decay = decay * np.cos(2 * np.pi * self.rng.uniform(8, 14) * t)
        self.add(up)
        self.add(1.0 + decay)

    def flight(self, airtime: float) -> None:
        k = self.samples(airtime)
        # Free fall: near 0 g, with the wobble of clothing and a loosely held body.
        self.add(np.abs(self.rng.normal(0.05, 0.04, k)))

    def jump(self, airtime: float | None = None, peak: float | None = None, countermovement: bool = True) -> None:
        airtime = airtime if airtime is not None else self.rng.uniform(0.25, 0.45)
        peak = peak if peak is not None else self.rng.uniform(3.0, 7.5)
        if countermovement:
            self.bump(self.rng.uniform(0.2, 0.3), -self.rng.uniform(0.4, 0.6))  # unweighting
            self.bump(self.rng.uniform(0.25, 0.35), self.rng.uniform(1.2, 3.0))  # push-off
        else:
            self.bump(0.15, self.rng.uniform(0.8, 1.5))
        self.add(np.linspace(0.9, 0.1, self.samples(0.03)))  # take-off
        self.flight(airtime)
        self.landing(peak)

    # --- confounders ---
    def walk(self, seconds: float, cadence_hz: float = 1.8, strike: float = 0.6) -> None:
        k = self.samples(seconds)
        t = np.arange(k) / self.rate
        v = 1.0 + 0.25 * np.sin(2 * np.pi * cadence_hz * t)
        phase = (t * cadence_hz) % 1.0
        v += strike * np.exp(-((phase - 0.1) / 0.02) ** 2)  # heel strike
        self.add(v)

    def jog(self, seconds: float, cadence_hz: float = 2.8) -> None:
        steps = int(seconds * cadence_hz)
        for _ in range(steps):
            period = 1.0 / cadence_hz
            flight = self.rng.uniform(0.05, 0.09)
            self.add(np.full(self.samples(flight), self.rng.uniform(0.15, 0.4)))
            self.landing(self.rng.uniform(2.2, 3.2), ring=False)
            self.landings.pop()  # a stride, not a jump
            rest = period - flight - 0.47
            if rest > 0:
                self.bump(rest, 0.3)

    def stomp(self) -> None:
        self.bump(0.2, -0.2)
        self.landing(self.rng.uniform(3.0, 5.0))
        self.landings.pop()  # an impact without flight

    def sit_down_hard(self) -> None:
        self.bump(0.35, -0.45)
        self.landing(self.rng.uniform(2.0, 3.0), ring=False)
        self.landings.pop()
        self.stand(1.0)

    def car_ride(self, seconds: float) -> None:
        k = self.samples(seconds)
        t = np.arange(k) / self.rate
        self.add(1.0 + 0.05 * np.sin(2 * np.pi * 1.3 * t) + self.rng.normal(0, 0.04, k))

    # --- finishing ---
    def build(self, tilt_deg: float = 10.0, noise_g: float = 0.015, range_g: int = 16) -> tuple[np.ndarray, np.ndarray]:
        v = np.concatenate(self.v)
        th = np.radians(tilt_deg)
        ph = self.rng.uniform(0, 2 * np.pi)
        u = np.array([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)])
        acc = v[:, None] * u[None, :] + self.rng.normal(0, noise_g, (len(v), 3))
        acc = np.clip(acc, -range_g, range_g)
        t = np.arange(len(v)) / self.rate
        return t, acc


SCENARIOS = (
    "cmj",
    "rope_single",
    "rope_double",
    "box_jumps",
    "hops",
    "walking",
    "jogging",
    "stairs",
    "sit_down_hard",
    "stomping",
    "car_ride",
    "session",
)


def scenario(name: str, seed: int = 0, jumps: int | None = None) -> tuple[np.ndarray, np.ndarray, list[float], dict]:
    """(t, acc, landing times, header) for one named scenario."""
    rng = np.random.default_rng(seed)
    b = Builder(rng, placement="shoe" if name.startswith("shoe") else "waist")
    b.stand(1.5)
    if name in ("cmj", "shoe_cmj"):
        for _ in range(jumps or 6):
            b.jump()
            b.stand(rng.uniform(1.0, 2.5))
    elif name == "rope_single":
        for _ in range(jumps or 20):
            b.jump(airtime=rng.uniform(0.22, 0.3), peak=rng.uniform(2.8, 4.0), countermovement=False)
            b.bump(0.05, 0.2)
    elif name == "rope_double":
        for _ in range(jumps or 12):
            b.jump(airtime=rng.uniform(0.38, 0.48), peak=rng.uniform(3.5, 5.5), countermovement=False)
            b.bump(0.08, 0.3)
    elif name == "box_jumps":
        for _ in range(jumps or 5):
            b.jump(airtime=rng.uniform(0.2, 0.3))  # up onto the box
            b.stand(1.0)
            b.walk(1.2)  # step down
            b.stand(1.0)
    elif name == "hops":
        for _ in range(jumps or 10):
            b.jump(airtime=rng.uniform(0.16, 0.22), peak=rng.uniform(2.6, 3.6), countermovement=False)
            b.stand(0.4)
    elif name == "walking":
        b.walk(20)
    elif name == "jogging":
        b.jog(20)
    elif name == "stairs":
        b.walk(20, cadence_hz=1.5, strike=0.9)
    elif name == "sit_down_hard":
        for _ in range(4):
            b.sit_down_hard()
            b.stand(2.0)
    elif name == "stomping":
        for _ in range(8):
            b.stomp()
            b.stand(0.8)
    elif name == "car_ride":
        b.car_ride(30)
    elif name == "session":  # a short training session: the demo's bundled trace
        b.walk(6)
        b.stand(2)
        for _ in range(5):
            b.jump()
            b.stand(rng.uniform(1.5, 2.5))
        b.walk(4)
        b.sit_down_hard()
        b.stand(2)
        for _ in range(jumps or 15):
            b.jump(airtime=rng.uniform(0.22, 0.3), peak=rng.uniform(2.8, 4.5), countermovement=False)
            b.bump(0.05, 0.2)
        b.stand(2)
        for _ in range(3):
            b.stomp()
            b.stand(1.0)
        b.walk(5)
    else:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
    b.stand(1.5)
    t, acc = b.build(tilt_deg=rng.uniform(0, 25))
    header = {
        "rate_hz": b.rate,
        "range_g": 16,
        "placement": b.placement,
        "source": f"jumpclip synth {name} seed={seed} (synthetic: tests code, not accuracy)",
        "label": f"jumps={len(b.landings)}",
    }
    return t, acc, list(b.landings), header
