"""MkDocs hooks (mkdocs.yml `hooks:`): pages made from the project's own sources at build
time, so they cannot drift: the config reference from the config schemas
(docs/gen_reference.py) and the tutorial page from docs/tutorial.ipynb (the notebook the
test suite executes)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _gen_reference() -> Any:
    spec = importlib.util.spec_from_file_location("gen_reference", HERE / "gen_reference.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {HERE / 'gen_reference.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def notebook_markdown(path: Path) -> str:
    """The notebook as a page: its Markdown cells as they are, its code cells as Python
    blocks (outputs are not stored in the notebook; run it to see them), and a link to it."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    parts = []
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        parts.append(source if cell["cell_type"] == "markdown" else f"```python\n{source}\n```")
    parts.append(
        f"[Download the notebook]({path.name}) and run it with Jupyter "
        "(`pip install notebook`, then `jupyter notebook tutorial.ipynb`)."
    )
    return "\n\n".join(parts) + "\n"


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    pages = {
        "reference/config.md": _gen_reference().render(),
        "tutorial.md": notebook_markdown(HERE / "tutorial.ipynb"),
    }
    for name, text in pages.items():
        files.append(File.generated(config, name, content=text))
    return files
