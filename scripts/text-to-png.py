#!/usr/bin/env python3
"""Renders a terminal capture (plain text) as a PNG, for the README's picture of the live view.
Status words are coloured as the terminal colours them. Needs Pillow and the DejaVu fonts.
    scripts/text-to-png.py docs/live-view.txt docs/live-view.png"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
COLOURS = {"RED": (230, 80, 80), "YELLOW": (220, 190, 60), "GREEN": (90, 200, 100)}

lines = open(sys.argv[1], encoding="utf-8").read().rstrip("\n").split("\n")
font = ImageFont.truetype(FONT, 16)
cell_w = font.getlength("M")
cell_h = 20
width = int(cell_w * max(len(l) for l in lines)) + 24
image = Image.new("RGB", (width, cell_h * len(lines) + 24), (24, 24, 28))
draw = ImageDraw.Draw(image)
for row, line in enumerate(lines):
    y = 12 + row * cell_h
    # Bars take the colour of the status on their line.
    level = next((w for w in COLOURS if re.search(rf"\b{w}\b", line)), None)
    used = re.search(r"([0-9.]+)% ", line)
    if level is None and used:
        # A window's line has no status word: the default thresholds, 75 and 90.
        pct = float(used.group(1))
        level = "RED" if pct >= 90 else "YELLOW" if pct >= 75 else "GREEN"
    for col, ch in enumerate(line):
        colour = (210, 210, 210)
        if ch in "█":
            colour = COLOURS.get(level, colour)
        elif ch in "░│┌┐└┘─":
            colour = (110, 110, 120)
        draw.text((12 + col * cell_w, y), ch, font=font, fill=colour)
    for word, colour in COLOURS.items():
        for m in re.finditer(rf"\b{word}\b", line):
            draw.text((12 + m.start() * cell_w, y), word, font=font, fill=colour)
image.save(sys.argv[2])
