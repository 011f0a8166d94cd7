"""Helpers for the operations tests (agenda, rehearse, report, metrics): small calendars at
chosen instants, the fixture config, and a PNG decoder (no Pillow) for screenshots."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import struct
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

FIXTURES = Path(__file__).parent / "fixtures"
MADRID = ZoneInfo("Europe/Madrid")


def copy_config(dest: Path, policies: str | None = None) -> Path:
    """The fixture config/ copied to ``dest`` (policies.yaml replaced when given)."""
    shutil.copytree(FIXTURES / "config", dest)
    if policies is not None:
        (dest / "policies.yaml").write_text(policies, encoding="utf-8")
    return dest


def local(moment: dt.datetime) -> str:
    """A Madrid wall-clock string to the second, as calendars write instants."""
    return moment.astimezone(MADRID).strftime("%Y-%m-%d %H:%M:%S")


def calendar_yaml(entries: list[dict], cal_id: str = "ensayo",
                  department: str = "comunicacion") -> str:
    """A calendar with the given entries: {id, at (aware datetime), accounts, es, ca, kind?,
    category?, check_url?}."""
    lines = ["calendar:", f"  id: {cal_id}", "  title: {es: Ensayo, ca: Assaig}",
             f"  department: {department}", "  timezone: Europe/Madrid", "  languages: [es, ca]",
             "  holidays: {region: ES-VC}", "  sources: [https://sede.example.org/ensayo]",
             '  hashtags: ["#Test"]', "entries:"]
    for e in entries:
        lines += [f"  - id: {e['id']}", f"    at: \"{local(e['at'])}\"",
                  f"    accounts: [{', '.join(e['accounts'])}]",
                  f"    kind: {e.get('kind', 'post')}",
                  f"    category: {e.get('category', 'institutional')}",
                  "    text:", f"      es: {json.dumps(e['es'], ensure_ascii=False)}",
                  f"      ca: {json.dumps(e['ca'], ensure_ascii=False)}"]
        if e.get("check_url"):
            lines.append(f"    check_url: \"{e['check_url']}\"")
    return "\n".join(lines) + "\n"


def read_jsonl(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# --- PNG ------------------------------------------------------------------------------------


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit RGB/RGBA/grey PNG, unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and interlace == 0, f"unsupported PNG (depth {depth}, interlace {interlace})"
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, bpp, rows
