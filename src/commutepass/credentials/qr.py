"""QR images of a code (PNG and SVG) with segno; base45 text uses the QR alphanumeric mode."""

from __future__ import annotations

from pathlib import Path

import segno

from commutepass.domain.errors import InputError


def write_qr(code: str, path: Path, kind: str) -> None:
    """Write the code as a QR image (``png`` or ``svg``); error correction M, as the EU DCC."""
    qr = segno.make(code, error="m", micro=False)
    try:
        qr.save(str(path), kind=kind, scale=4, border=4)
    except OSError as exc:
        raise InputError(
            kind, f"{path}: cannot write the image ({exc.strerror})", f"{path}：无法写入图片"
        ) from None


def qr_svg_inline(code: str, title: str) -> str:
    """The code as an SVG element to put in a page (no XML declaration), with an accessible title."""
    qr = segno.make(code, error="m", micro=False)
    return str(qr.svg_inline(scale=3, border=2, title=title, svgclass="qr"))
