# Bouts of bone loading: one definition for the clip (the "enough for now" cue, the progress
# display) and the desktop report. Pure code, both interpreters.
#
# A bout is a run of qualifying landings, each less than gap_s after the one before. Why
# bouts matter (sources; see README "Bone loading"):
# - Bone's response to loading saturates within a bout: after some tens of loading cycles,
#   more cycles add little (Rubin & Lanyon, J Bone Joint Surg Am 1984, 66:397-402: 36
#   loading cycles a day were enough to add bone; Umemura et al., J Bone Miner Res 1997,
#   12:1480-1485: five jumps a day already increased bone mass in rats, and more jumps added
#   comparatively little). The default useful size, 40 landings, is in the 40-60 range.
# - Rest restores mechanosensitivity: about 8 hours restores it fully (Robling, Burr &
#   Turner, J Exp Biol 2001, 204:3389-3399), and four bouts 3 h apart built more bone than
#   one long bout (Robling et al., J Bone Miner Res 2002, 17:1545-1554).
# - Within a bout, rest between loads raised bone formation: 10 s (Srinivasan et al.,
#   J Bone Miner Res 2002, 17:1613-1620), 14 s (Robling et al. 2001); both in rats. So a bout tolerates pauses
#   far longer than that, and only a break of gap_s (default 30 min) starts a new one.

BOUT_GAP_S = 1800
BOUT_SIZE = 40
RECOVERY_S = 8 * 3600  # full mechanosensitivity again (Robling, Burr & Turner 2001)


class Bouts:
    """The bouts of one day, fed one qualifying landing at a time (times in seconds)."""

    def __init__(self, gap_s=BOUT_GAP_S, size=BOUT_SIZE):
        self.gap_s = gap_s
        self.size = size
        self.reset()

    def reset(self):
        self.count = 0  # bouts so far
        self.current = 0  # qualifying landings in the current bout
        self.last_s = None  # time of the last qualifying landing
        self.cued = False  # the current bout reached its useful size

    def starts_bout(self, now_s):
        return self.last_s is None or now_s - self.last_s >= self.gap_s

    def add(self, now_s):
        """One qualifying landing. True once per bout: when it reaches its useful size."""
        if self.starts_bout(now_s):
            self.count += 1
            self.current = 0
            self.cued = False
        self.current += 1
        self.last_s = now_s
        if self.current >= self.size and not self.cued:
            self.cued = True
            return True
        return False


def split(times_s, gap_s=BOUT_GAP_S):
    """The bouts of sorted landing times: a list of [first, last, landings], by Bouts' rule."""
    b = Bouts(gap_s, 1 << 30)
    out = []
    for t in times_s:
        if b.starts_bout(t):
            out.append([t, t, 0])
        b.add(t)
        out[-1][1] = t
        out[-1][2] += 1
    return out
