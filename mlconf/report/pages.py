"""The one way mlconf renders an HTML page (training report, sweep report, monitoring
report): Jinja2 with autoescaping and strict undefined names, and every bidirectional
control character shown as its code point.

Autoescaping stops markup, not bidi controls: a feature name or a stored label holding
U+202E (right-to-left override) would silently reorder the text after it ("Trojan
Source"). `visible_bidi` replaces each with a visible `[U+202E]`; it runs over the whole
rendered page, so no value can reach the page around it (the templates hold none).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["BIDI_CONTROLS", "environment", "render_page", "visible_bidi"]

# Embeddings and overrides, isolates, the marks, and the Arabic letter mark.
BIDI_CONTROLS = (
    *range(0x202A, 0x202F),
    *range(0x2066, 0x206A),
    0x200E,
    0x200F,
    0x061C,
)
_SHOWN = {code: f"[U+{code:04X}]" for code in BIDI_CONTROLS}


def visible_bidi(text: str) -> str:
    """`text` with every bidi control character written as `[U+XXXX]`."""
    return text.translate(_SHOWN)


def environment(*folders: Path) -> Any:
    """A Jinja2 environment over the template folders (first match wins)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(f)) for f in folders]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(env: Any, template: str, view: dict[str, Any]) -> str:
    """The template rendered with `view`, bidi controls made visible."""
    return visible_bidi(str(env.get_template(template).render(**view)))
