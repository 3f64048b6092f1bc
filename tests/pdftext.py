"""The text a PDF draws, for tests: every Flate stream inflated, the strings of its text operators
joined (reportlab writes WinAnsi strings; enough to find a number, a serial or a word)."""

from __future__ import annotations

import base64
import contextlib
import re
import zlib

_STREAM = re.compile(rb"stream\r?\n(.*?)\s*endstream", re.S)
_STRING = re.compile(rb"\((?:\\.|[^\\)])*\)")


def pdf_text(content: bytes) -> str:
    out = []
    for raw in _STREAM.findall(content):
        data = raw
        if raw.rstrip().endswith(b"~>"):  # reportlab's ASCII85 around the Flate stream
            try:
                data = base64.a85decode(raw.strip()[:-2].replace(b"\n", b""))
            except ValueError:
                data = raw
        with contextlib.suppress(zlib.error):
            data = zlib.decompress(data)
        for literal in _STRING.findall(data):
            inner = literal[1:-1]
            inner = re.sub(rb"\\([0-7]{1,3})", lambda m: bytes([int(m.group(1), 8)]), inner)
            inner = re.sub(rb"\\([()\\])", rb"\1", inner)
            out.append(inner.decode("cp1252", errors="replace"))
    return " ".join(out)
