"""Report: `report.html` and `model_card.md` from the run folder, written last.

Nothing later in the run reads them, so the background worker writes them after the plots
it was handed before (it keeps the order) while the run goes on to register the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlconf.run_state import RunState


def report(ctx: RunState) -> None:
    if not ctx.conf.report.enabled:
        return
    from mlconf.report.html import prepare_report

    # Compiled once the stages have ended, while the last plots are drawn, so that the
    # report job only renders.
    ctx.background.while_waiting("report", prepare_report)
    ctx.later("report", write_report, ctx)


def write_report(ctx: RunState) -> None:
    from mlconf.report.html import REPORT_FILE, render_report
    from mlconf.report.model_card import write_model_card
    from mlconf.store.atomic import write_text

    options = ctx.conf.report
    # Every earlier stage finished, or this one would not run; run.json says "running".
    html, view = render_report(
        ctx.run_dir,
        max_image_px=options.max_image_px,
        max_bytes=options.max_bytes,
        status="succeeded",
    )
    write_text(ctx.artifact(REPORT_FILE), html)
    write_model_card(ctx.run_dir, view)
    for note in view["image_notes"]:
        if "left out" in note:
            ctx.warn(f"report: {note}")
    ctx.console.print(f"report written: {ctx.run_dir / REPORT_FILE}", soft_wrap=True)
