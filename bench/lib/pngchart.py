# -*- coding: utf-8 -*-
"""A small line chart written as a PNG with the standard library only (zlib + struct):
axes, ticks, a built-in 5x7 pixel font (upper case), one line per series, a legend.

    chart = LineChart(760, 480, title="...", x_label="...", y_label="...")
    chart.series("packet, 1 stream", [(1, 900), (2, 1300)], color=(31, 119, 180),
                 marker="circle", dashed=False)
    chart.save("out.png")
"""
import struct
import zlib

_FONT_ROWS = {
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11110 10001 10001 10001 10001 10001 11110",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 10001 01010 00100 00100 00100",
    "Z": "11111 00001 00010 00100 01000 10000 11111",
    "0": "01110 10001 10011 10101 11001 10001 01110",
    "1": "00100 01100 00100 00100 00100 00100 01110",
    "2": "01110 10001 00001 00010 00100 01000 11111",
    "3": "11111 00010 00100 00010 00001 10001 01110",
    "4": "00010 00110 01010 10010 11111 00010 00010",
    "5": "11111 10000 11110 00001 00001 10001 01110",
    "6": "00110 01000 10000 11110 10001 10001 01110",
    "7": "11111 00001 00010 00100 01000 01000 01000",
    "8": "01110 10001 10001 01110 10001 10001 01110",
    "9": "01110 10001 10001 01111 00001 00010 01100",
    " ": "00000 00000 00000 00000 00000 00000 00000",
    ".": "00000 00000 00000 00000 00000 01100 01100",
    ",": "00000 00000 00000 00000 01100 00100 01000",
    "-": "00000 00000 00000 11111 00000 00000 00000",
    "_": "00000 00000 00000 00000 00000 00000 11111",
    "/": "00000 00001 00010 00100 01000 10000 00000",
    ":": "00000 01100 01100 00000 01100 01100 00000",
    ";": "00000 01100 01100 00000 01100 00100 01000",
    "(": "00010 00100 01000 01000 01000 00100 00010",
    ")": "01000 00100 00010 00010 00010 00100 01000",
    "=": "00000 00000 11111 00000 11111 00000 00000",
    ">": "01000 00100 00010 00001 00010 00100 01000",
    "<": "00010 00100 01000 10000 01000 00100 00010",
    "+": "00000 00100 00100 11111 00100 00100 00000",
    "%": "11000 11001 00010 00100 01000 10011 00011",
    "*": "00000 10101 01110 11111 01110 10101 00000",
    "'": "00100 00100 01000 00000 00000 00000 00000",
    "?": "01110 10001 00001 00010 00100 00000 00100",
    "~": "00000 00000 01000 10101 00010 00000 00000",
}
FONT = {char: [row for row in rows.split()] for char, rows in _FONT_ROWS.items()}
GLYPH_W, GLYPH_H = 5, 7

WHITE, BLACK, GREY, LIGHT = (255, 255, 255), (0, 0, 0), (110, 110, 110), (225, 225, 225)


class Canvas(object):
    def __init__(self, width, height, background=WHITE):
        self.width, self.height = width, height
        self.pixels = [bytearray(bytes(background) * width) for _ in range(height)]

    def set(self, x, y, color):
        if 0 <= x < self.width and 0 <= y < self.height:
            self.pixels[y][3 * x:3 * x + 3] = bytes(color)

    def rect(self, x0, y0, x1, y1, color):
        for y in range(max(0, min(y0, y1)), min(self.height, max(y0, y1) + 1)):
            for x in range(max(0, min(x0, x1)), min(self.width, max(x0, x1) + 1)):
                self.pixels[y][3 * x:3 * x + 3] = bytes(color)

    def disc(self, cx, cy, radius, color):
        for y in range(-radius, radius + 1):
            for x in range(-radius, radius + 1):
                if x * x + y * y <= radius * radius + radius:
                    self.set(cx + x, cy + y, color)

    def line(self, x0, y0, x1, y1, color, width=1, dash=0):
        """Bresenham, stamped with a width x width square; dash=n draws n on, n off."""
        x0, y0, x1, y1 = int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1))
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, step, half = dx + dy, 0, width // 2
        while True:
            if not dash or (step // dash) % 2 == 0:
                self.rect(x0 - half, y0 - half, x0 - half + width - 1, y0 - half + width - 1, color)
            step += 1
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x, y, text, color=BLACK, scale=2):
        """Upper-cased 5x7 glyphs; returns the width drawn. Unknown characters print '?'."""
        cursor = x
        for char in str(text).upper():
            rows = FONT.get(char, FONT["?"])
            for row_index, row in enumerate(rows):
                for col_index, bit in enumerate(row):
                    if bit == "1":
                        self.rect(cursor + col_index * scale, y + row_index * scale,
                                  cursor + (col_index + 1) * scale - 1,
                                  y + (row_index + 1) * scale - 1, color)
            cursor += (GLYPH_W + 1) * scale
        return cursor - x

    @staticmethod
    def text_width(text, scale=2):
        return len(str(text)) * (GLYPH_W + 1) * scale

    def vtext(self, x, y, text, color=BLACK, scale=2):
        """Text rotated 90 degrees counter-clockwise, reading bottom to top, starting at
        (x, y) as its bottom-left corner."""
        cursor = y
        for char in str(text).upper():
            rows = FONT.get(char, FONT["?"])
            for row_index, row in enumerate(rows):
                for col_index, bit in enumerate(row):
                    if bit == "1":
                        px, py = x + row_index * scale, cursor - (col_index + 1) * scale + 1
                        self.rect(px, py, px + scale - 1, py + scale - 1, color)
            cursor -= (GLYPH_W + 1) * scale

    def png(self):
        raw = b"".join(b"\x00" + bytes(row) for row in self.pixels)

        def chunk(kind, data):
            body = kind + data
            return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def nice_step(span, ticks=6):
    raw = span / float(max(1, ticks))
    magnitude = 10 ** len(str(int(raw))) / 10.0 if raw >= 1 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


class LineChart(object):
    def __init__(self, width=800, height=500, title="", x_label="", y_label="", x_ticks=None,
                 notes=()):
        self.width, self.height = width, height
        self.title, self.x_label, self.y_label = title, x_label, y_label
        self.x_ticks, self.notes = x_ticks, list(notes)
        self.all_series = []

    def series(self, label, points, color, marker="circle", dashed=False):
        self.all_series.append({"label": label, "points": sorted(points), "color": color,
                                "marker": marker, "dashed": dashed})

    def render(self):
        canvas = Canvas(self.width, self.height)
        left, right, top = 90, 290, 50
        bottom = 70 + 16 * len(self.notes)
        x0, x1, y0, y1 = left, self.width - right, self.height - bottom, top
        xs = [x for s in self.all_series for x, _ in s["points"]] or [0, 1]
        ys = [y for s in self.all_series for _, y in s["points"]] or [0, 1]
        x_ticks = self.x_ticks or sorted(set(xs))
        x_min, x_max = min(x_ticks + xs), max(x_ticks + xs)
        if x_max == x_min:
            x_max = x_min + 1
        step = nice_step(max(ys) * 1.1 or 1)
        y_max = step * (int(max(ys) * 1.08 / step) + 1)

        def px(x):
            return x0 + (x - x_min) * (x1 - x0) / float(x_max - x_min)

        def py(y):
            return y0 - y * (y0 - y1) / float(y_max)

        canvas.text(left, 16, self.title, scale=2)
        tick = 0.0
        while tick <= y_max + 1e-9:
            y = int(round(py(tick)))
            canvas.line(x0, y, x1, y, LIGHT)
            label = ("%d" % tick) if tick == int(tick) else ("%g" % tick)
            canvas.text(x0 - 10 - Canvas.text_width(label), y - 7, label, GREY)
            tick += step
        for x in x_ticks:
            xp = int(round(px(x)))
            canvas.line(xp, y0, xp, y1, LIGHT)
            canvas.line(xp, y0, xp, y0 + 6, BLACK)
            canvas.text(xp - Canvas.text_width(str(x)) // 2, y0 + 12, str(x), GREY)
        canvas.line(x0, y0, x1, y0, BLACK, width=2)
        canvas.line(x0, y0, x0, y1, BLACK, width=2)
        canvas.text((x0 + x1 - Canvas.text_width(self.x_label)) // 2, y0 + 36, self.x_label)
        canvas.vtext(18, (y0 + y1 + Canvas.text_width(self.y_label)) // 2, self.y_label)
        for note_index, note in enumerate(self.notes):
            canvas.text(left, self.height - 16 * (len(self.notes) - note_index) - 8, note,
                        GREY, scale=1)

        for s in self.all_series:
            points = [(px(x), py(y)) for x, y in s["points"]]
            for (ax, ay), (bx, by) in zip(points, points[1:]):
                canvas.line(ax, ay, bx, by, s["color"], width=3, dash=7 if s["dashed"] else 0)
            for x, y in points:
                self._marker(canvas, int(round(x)), int(round(y)), s["marker"], s["color"])

        legend_x, legend_y = x1 + 20, top + 10
        for index, s in enumerate(self.all_series):
            y = legend_y + index * 30
            canvas.line(legend_x, y + 6, legend_x + 36, y + 6, s["color"], width=3,
                        dash=7 if s["dashed"] else 0)
            self._marker(canvas, legend_x + 18, y + 6, s["marker"], s["color"])
            canvas.text(legend_x + 46, y, s["label"], scale=2)
        return canvas

    @staticmethod
    def _marker(canvas, x, y, marker, color):
        if marker == "square":
            canvas.rect(x - 5, y - 5, x + 5, y + 5, color)
        elif marker == "diamond":
            for d in range(6):
                canvas.line(x - 5 + d, y, x, y - 5 + d, color)
                canvas.line(x + 5 - d, y, x, y + 5 - d, color)
                canvas.line(x - 5 + d, y, x, y + 5 - d, color)
                canvas.line(x + 5 - d, y, x, y - 5 + d, color)
        else:
            canvas.disc(x, y, 5, color)

    def save(self, path):
        with open(path, "wb") as handle:
            handle.write(self.render().png())
