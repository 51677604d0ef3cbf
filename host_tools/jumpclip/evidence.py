"""What the evidence behind the daily target says for a wearer's group.

A wearer may say, optionally, which group they are in (`jumpclip group`); the report then
shows what the trials found for people like them, and says so where no trial we know of
studied them. Training information, not medical advice: the trials are small, and a group
is not a person.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    text: str
    source: str


@dataclass(frozen=True)
class Group:
    name: str
    title: str
    findings: tuple[Finding, ...]


BASSEY_1998 = "Bassey et al., Osteoporos Int 1998, 8(6):504-511"
TUCKER_2015 = "Tucker et al., Am J Health Promot 2015, 29(3):158-164"
VAINIONPAA_2006 = "Vainionpää et al., Osteoporos Int 2006, 17(3):455-463"

GROUPS = {
    g.name: g
    for g in (
        Group("premenopausal", "women before menopause", (
            Finding("About 50 jumps a day, six days a week, raised hip bone density.", BASSEY_1998),
            Finding("10 or 20 jumps twice a day raised hip bone density over 16 weeks.", TUCKER_2015),
            Finding("The daily number of impacts of 3.9 g and over at the waist, from all activity, was associated with "
                    "hip bone density change.", VAINIONPAA_2006),
        )),
        Group("postmenopausal", "women after menopause", (
            Finding("The same 50-jumps-a-day programme had no effect on hip bone density after menopause.", BASSEY_1998),
            Finding("None of the other trials we cite studied this group: the target is not shown to work for you; "
                    "ask your doctor or physiotherapist what loading suits you.", ""),
        )),
        Group("men", "men", (
            Finding("None of the trials we cite studied men: the target of 50 comes from trials of women.", ""),
        )),
        Group("other", "another group, or one you would rather not say", (
            Finding("The target of 50 comes from trials of premenopausal women (Bassey 1998, Tucker 2015); for other "
                    "groups the evidence is thinner.", ""),
        )),
    )
}

SETTING_KEY = "evidence_group:"  # + wearer name ('' the default wearer), in the settings table


def lines(group: Group | None) -> list[str]:
    """The report's lines for the wearer's group (a prompt to say it when unset)."""
    if group is None:
        return ["What the evidence says depends on who you are: `jumpclip group premenopausal` (or postmenopausal, men, "
                "other) shows it here. Optional."]
    out = [f"The evidence for {group.title}:"]
    out += [f"- {f.text}" + (f" ({f.source})" if f.source else "") for f in group.findings]
    out.append("Training information, not medical advice.")
    return out
