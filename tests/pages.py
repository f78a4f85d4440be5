"""Looking at mlconf's HTML pages (report, sweep report, monitoring report) in headless
Chromium: what every page must be, checked once for all of them.

Playwright drives Debian's `chromium` through `executable_path`: no browser download (none
is possible offline), the flags below keep it off the network, and Playwright gives it a
fresh profile that it removes afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import ROOT

ARTIFACTS = Path(os.environ.get("MLCONF_TEST_ARTIFACTS", ROOT / "test-artifacts"))
# Playwright adds --headless and its own debugging pipe; these are the rest of what the
# browser tests always ran with.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1200, "height": 900}
INSTALL_HINT = (
    "Debian's chromium is needed for the browser test: `apt-get install -y chromium` "
    "(.ci/run installs it), or point MLCONF_CHROMIUM at a Chromium/Chrome binary"
)

PAGE_FACTS = """JSON.stringify({
  sections: [...document.querySelectorAll('main > section')].map(s => ({
    id: s.id,
    heading: (s.querySelector('h2') || {}).innerText || '',
    height: s.getBoundingClientRect().height,
  })),
  images: [...document.images].map(i => ({
    alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
  })),
  scripts: document.scripts.length,
  handlers: document.querySelectorAll('[onerror],[onload],[onclick]').length,
  text: document.body.innerText,
  charset: document.characterSet,
  height: document.documentElement.scrollHeight,
})"""
# The page as it first shows (folded sections closed), then with every section opened, so
# that the facts cover everything the page holds.
FOLDED = """JSON.stringify({
  height: document.documentElement.scrollHeight,
  folded: document.querySelectorAll('details:not([open])').length,
})"""
UNFOLD = "document.querySelectorAll('details').forEach(d => { d.open = true; }); true"


def find_chromium() -> str | None:
    candidates = [
        os.environ.get("MLCONF_CHROMIUM"),
        "chromium",
        "chromium-browser",
        "google-chrome",
    ]
    for name in candidates:
        if name and (found := shutil.which(name)):
            return found
    return None


def chromium_or_fail() -> str:
    """The Chromium binary; without one the browser tests fail, saying how to install it."""
    found = find_chromium()
    if found is None:
        pytest.fail(INSTALL_HINT)
    return found


@dataclass
class PageView:
    facts: dict[str, Any]  # PAGE_FACTS, with every folded section opened
    folded: dict[str, Any]  # FOLDED: the page as it first shows
    values: dict[str, Any]  # the page's value of each expression asked for
    errors: list[str]  # console errors, uncaught exceptions, failed loads, dialogs
    screenshot: Path


def view_page(chromium: str, page_file: Path, name: str, **expressions: str) -> PageView:
    """Open the page, read its facts and `expressions`, and keep a screenshot (and, for a
    look after a failure, a copy of the page) under ARTIFACTS as `name`.png/.html."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=FLAGS)
        try:
            page = browser.new_page(viewport=VIEWPORT)  # type: ignore[arg-type]
            page.on(
                "console",
                lambda m: (
                    errors.append(f"console.{m.type}: {m.text}")
                    if m.type in ("error", "assert")
                    else None
                ),
            )
            page.on("pageerror", lambda exc: errors.append(f"exception: {exc}"))
            page.on("requestfailed", lambda r: errors.append(f"load failed: {r.url}"))
            page.on("dialog", lambda d: (errors.append(f"dialog opened: {d.message}"), d.dismiss()))
            page.goto(page_file.as_uri(), wait_until="load")
            folded = json.loads(page.evaluate(FOLDED))
            page.evaluate(UNFOLD)
            facts = json.loads(page.evaluate(PAGE_FACTS))
            values = {key: page.evaluate(js) for key, js in expressions.items()}
            shot = ARTIFACTS / f"{name}.png"
            page.screenshot(path=shot, full_page=True)  # the whole page, not only the window
        finally:
            browser.close()
    shutil.copyfile(page_file, ARTIFACTS / f"{name}.html")
    return PageView(facts, folded, values, errors, shot)


def assert_sound_page(view: PageView, section_ids: list[str], min_images: int) -> None:
    """No console error, UTF-8, the sections in order with headings, every image decoded,
    no script or inline handler (hostile data shows as text), a real screenshot."""
    facts = view.facts
    assert view.errors == [], view.errors
    assert facts["charset"] == "UTF-8"
    assert [s["id"] for s in facts["sections"]] == section_ids
    for s in facts["sections"]:
        assert s["heading"] and s["height"] > 0, s
    assert len(facts["images"]) >= min_images
    for image in facts["images"]:
        assert image["complete"] and image["width"] > 0 and image["height"] > 0, image
    assert facts["scripts"] == 0 and facts["handlers"] == 0
    assert view.screenshot.stat().st_size > 10_000
    if view.folded["folded"]:  # opens short: "At a glance" and one heading per section
        assert view.folded["height"] < facts["height"] / 2, (view.folded, facts["height"])
