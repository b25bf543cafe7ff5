"""What "every control reachable by keyboard, with a label" means, checked in the browser."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Page, ViewportSize

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TABLET: ViewportSize = {"width": 820, "height": 1180}

# Every control in `main`: its accessible name as the browser computes it is approximated by
# its label, aria-label, aria-labelledby or text; hidden inputs are not controls.
_CONTROLS = """(root) => Array.from(root.querySelectorAll(
    'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]'))
  .filter((el) => el.tabIndex >= 0 && el.getClientRects().length)
  .map((el) => ({
    tag: el.tagName.toLowerCase(),
    name: (el.getAttribute('aria-label') || (el.labels && el.labels[0]?.textContent)
           || (el.getAttribute('aria-labelledby') && document.getElementById(
                 el.getAttribute('aria-labelledby'))?.textContent)
           || el.textContent || '').trim(),
    html: el.outerHTML.slice(0, 120),
  }))"""

_FOCUS_FIRST = """(body) => body.querySelector(
    'a[href], button, input:not([type=hidden]), select, textarea, summary').focus()"""

_FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const name = (el.getAttribute('aria-label') || el.textContent || '').trim();
  const label = (el.labels && el.labels[0]?.textContent.trim()) || name;
  return { html: el.outerHTML.slice(0, 120), name, label, outline: style.outlineStyle,
           width: parseFloat(style.outlineWidth) };
}"""


async def unlabelled_controls(page: Page, root: str = "main") -> list[str]:
    controls = await page.locator(root).evaluate(_CONTROLS)
    return [c["html"] for c in controls if not c["name"]]


async def tab_through(page: Page, limit: int = 60) -> list[dict[str, object]]:
    """Press Tab from the page's first control until focus leaves the page; what got focus
    each time (the first control included)."""
    await page.locator("body").evaluate(_FOCUS_FIRST)
    # Once more by keyboard: focus given by script shows no focus ring (:focus-visible).
    await page.keyboard.press("Tab")
    await page.keyboard.press("Shift+Tab")
    seen: list[dict[str, object]] = [await page.evaluate(_FOCUSED)]
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement === document.body"):
            return seen
        seen.append(await page.evaluate(_FOCUSED))
    return seen


def without_focus_ring(seen: list[dict[str, object]]) -> list[object]:
    return [s["html"] for s in seen if s["outline"] == "none" or s["width"] == 0]
