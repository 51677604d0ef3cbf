"""Draw hardware/schematic.svg from firmware/board.py, the only source of the pin map.

Run: python hardware/schematic.py  (the test suite checks that the committed SVG is current).
A plain block-and-wire drawing in SVG, kept as text so that it stays reviewable in diffs.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pins() -> dict[str, int]:
    from jumpclip.fw import pin_map  # the one reader of board.py's constants

    return pin_map()


def svg() -> str:
    p = pins()
    w, h = 760, 420
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="monospace" font-size="13">',
        '<rect width="100%" height="100%" fill="white"/>',
        '<text x="20" y="28" font-size="16" font-weight="bold">jumpclip: wiring (generated from firmware/board.py)</text>',
        # ESP32 Feather block
        '<rect x="40" y="60" width="230" height="320" fill="#eef3fb" stroke="black"/>',
        '<text x="55" y="85" font-weight="bold">ESP32 Feather V2</text>',
        # MPU block
        '<rect x="480" y="60" width="230" height="170" fill="#f4f0e6" stroke="black"/>',
        '<text x="495" y="85" font-weight="bold">GY-521 (MPU6050)</text>',
        f'<text x="495" y="105">I2C address 0x{p["MPU_ADDR"]:02x} (AD0 low)</text>',
    ]
    rows = [
        ("3V", None, "VCC", 130),
        ("GND", None, "GND", 155),
        (f"GPIO{p['I2C_SDA']}", "I2C_SDA", "SDA", 180),
        (f"GPIO{p['I2C_SCL']}", "I2C_SCL", "SCL", 205),
        (f"GPIO{p['MPU_INT']}", "MPU_INT", "INT", 225),
    ]
    for left, name, right, y in rows:
        out.append(f'<text x="150" y="{y + 4}">{left}</text>')
        out.append(f'<line x1="270" y1="{y}" x2="480" y2="{y}" stroke="black"/>')
        out.append(f'<circle cx="270" cy="{y}" r="3"/><circle cx="480" cy="{y}" r="3"/>')
        out.append(f'<text x="490" y="{y + 4}">{right}</text>')
        if name:
            out.append(f'<text x="300" y="{y - 4}" font-size="11" fill="#555">{name}</text>')
    y = 290
    out += [
        f'<text x="130" y="{y + 4}">GPIO{p["BUTTON"]}</text>',
        f'<line x1="270" y1="{y}" x2="420" y2="{y}" stroke="black"/><circle cx="270" cy="{y}" r="3"/>',
        f'<line x1="420" y1="{y - 12}" x2="450" y2="{y - 12}" stroke="black"/>',
        f'<line x1="420" y1="{y}" x2="420" y2="{y - 12}" stroke="black"/><line x1="450" y1="{y}" x2="450" y2="{y - 12}" stroke="black"/>',
        f'<line x1="450" y1="{y}" x2="520" y2="{y}" stroke="black"/><text x="525" y="{y + 4}">GND</text>',
        f'<text x="300" y="{y - 18}" font-size="11" fill="#555">BUTTON (pull-up, active low)</text>',
        f'<text x="55" y="{y + 40}">GPIO{p["LED"]}: red LED (on board)</text>',
        f'<text x="55" y="{y + 60}">GPIO{p["BATTERY_ADC"]}: battery / 2 (on-board divider)</text>',
        f'<text x="480" y="{y + 60}">I2C {p["I2C_FREQ"] // 1000} kHz, bus {p["I2C_ID"]}</text>',
        "</svg>",
    ]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    (HERE / "schematic.svg").write_text(svg())
    sys.stdout.write("wrote hardware/schematic.svg\n")
