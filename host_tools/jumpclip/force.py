"""Peak landing force from the clip's filtered landing peak, in body weights, with its error.

The model: Veras et al. predicted peak ground reaction force from a hip-worn accelerometer's
peak during jumps (drop jumps of 5-40 cm, box and continuous jumps; 100 Hz, +-16 g), fitted
and validated with leave-one-out against force plates:

    pGRF [N] = b0 + b1 * pACC [g] + b2 * mass [kg] + b3 * pACC * mass

with, for the hip and the resultant acceleration, b = (-493.877, 188.759, 18.008, 1.279).
The mean absolute percentage error is about 13 % for the peak force. Source: Veras L et al.,
the jumping equations of the authors' R package impactr (R/predict.R). The copy of impactr
available to us holds only its walking/running equations, so the jumping coefficients here
are the published ones as the issue that asked for them quotes them; check them against the
paper before relying on a single number.

The accelerometer peak must be what the model was fitted on: the resultant of the axes low-
pass filtered at 20 Hz (4th-order Butterworth, zero phase): impactr's filter_acc() defaults,
computed on the clip by firmware/impact.py for every landing.

This is training information, not medical advice.
"""

from __future__ import annotations

from dataclasses import dataclass

B_HIP_RESULTANT = (-493.877, 188.759, 18.008, 1.279)
MAPE = 0.13  # the model's mean absolute percentage error for peak force (Veras et al.)
G = 9.80665
# Where the model applies: landings of jumps (the detector counts nothing else) whose filtered
# peak lies in the range of the jumps it was fitted on. We did not have the paper's exact
# range; below 1.5 g a "landing" is no jump landing at all, and the clip reads up to 16 g.
MODEL_MIN_G = 1.5
# ... and up to the forces it was fitted on: the force plates' peaks in Veras et al.'s jumps
# lie within 0-7 BW (the axis of the paper's Figure 1A: github:verasls/ACC_bone,
# figures/fig1.R; the data themselves were not available to us). A prediction past that is
# an extrapolation: it is shown as "> 7 BW", flagged as clipped landings are.
MODEL_MAX_BW = 7.0
BW_THRESHOLD = 3.0  # an osteogenic threshold: landings above 3 body weights (see loading.py)

CLIPPED = 0x8000  # firmware/impact.py: the flag bit of the stored filtered peak


@dataclass(frozen=True)
class Force:
    bw: float  # peak force in body weights
    lower_bound: bool  # the raw peak reached the sensor's range: the force is at least this
    extrapolated: bool = False  # past the forces the model was fitted on (MODEL_MAX_BW): no number is trusted

    @property
    def band(self) -> tuple[float, float]:
        return self.bw * (1 - MAPE), self.bw * (1 + MAPE)

    def text(self) -> str:
        """'3.4 BW ~±13 %' (the model's mean error on averaged lab jumps: an indication, not a
        bound), '≥ 5.1 BW' for a clipped landing, '> 7 BW (past the model's range)' beyond
        the fitted forces."""
        if self.extrapolated:
            return f"> {MODEL_MAX_BW:g} BW (past the model's range)"
        if self.lower_bound:
            return f"≥ {self.bw:.1f} BW"
        return f"{self.bw:.1f} BW ~±{MAPE * 100:.0f} %"


def grf_newtons(pacc_g: float, mass_kg: float) -> float:
    b0, b1, b2, b3 = B_HIP_RESULTANT
    return b0 + b1 * pacc_g + b2 * mass_kg + b3 * pacc_g * mass_kg


def split_filtered(stored: int | None) -> tuple[float | None, bool]:
    """The clip's stored filtered peak -> (g or None when not computed, clipped)."""
    if not stored:
        return None, False
    return (stored & 0x7FFF) / 1000.0, bool(stored & CLIPPED)


def force(filtered_g: float | None, clipped: bool, mass_kg: float | None) -> Force | None:
    """The landing's peak force, or None: no body mass set, no filtered peak, or outside the
    model's range (then no number is better than an extrapolation)."""
    if mass_kg is None or filtered_g is None or filtered_g < MODEL_MIN_G:
        return None
    bw = grf_newtons(filtered_g, mass_kg) / (mass_kg * G)
    return Force(bw, clipped, bw > MODEL_MAX_BW)
