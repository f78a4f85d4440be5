"""Plots inlined into the report as base64 data URIs, within a byte budget.

Only PNG files inside the run folder are read (a plot path in a JSON file is data and
could point anywhere). Wider images are scaled down to `max_px`; once the budget is
spent, further images are left out and the report says so.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class ImageInliner:
    root: Path
    max_px: int = 900
    budget: int = 4_000_000
    spent: int = 0
    notes: list[str] = field(default_factory=list)

    def inline(self, plot: dict[str, Any]) -> dict[str, Any]:
        """The plot with `uri` (a data URI) or `missing` (why it is not shown)."""
        rel = str(plot.get("path", ""))
        shown = {
            "path": rel,
            "title": str(plot.get("title") or Path(rel).stem.replace("_", " ")),
            "caption": str(plot.get("caption") or ""),
            "uri": None,
            "missing": None,
        }
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root.resolve()) or path.suffix.lower() != ".png":
            shown["missing"] = "not shown: only PNG files inside the run folder are inlined"
            return shown
        if not path.is_file():
            shown["missing"] = f"not shown: {rel} is missing"
            return shown
        data = path.read_bytes()
        if not data.startswith(PNG_MAGIC):
            shown["missing"] = f"not shown: {rel} is not a PNG image"
            return shown
        data, scaled = self._fit(data)
        encoded = base64.b64encode(data).decode("ascii")
        if self.spent + len(encoded) > self.budget:
            shown["missing"] = f"not shown to keep the report small; open {rel} in the run folder"
            self.notes.append(f"{rel} left out (report size limit)")
            return shown
        self.spent += len(encoded)
        shown["uri"] = f"data:image/png;base64,{encoded}"
        if scaled:
            self.notes.append(f"{rel} scaled down to {self.max_px} px wide")
        return shown

    def _fit(self, data: bytes) -> tuple[bytes, bool]:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width <= self.max_px:
                return data, False
            size = (self.max_px, max(1, round(height * self.max_px / width)))
            out = io.BytesIO()
            image.resize(size, Image.Resampling.LANCZOS).save(out, format="PNG", optimize=True)
            return out.getvalue(), True
