"""A person's browser that fails on what a person would hit, shared by the page tests: console
errors, failed responses, horizontal overflow, broken links and serious or critical axe-core
violations (``tests/browser/node_modules/axe-core``: ``npm ci --prefix tests/browser``); each page
checked is saved to ``test-artifacts/<folder>/<width>-<name>.png``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .conftest import ARTIFACTS
from .test_journey import follow, visit

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"

# The innermost elements whose box or content (text that does not wrap) reaches past the viewport's
# right edge; one inside a container that scrolls or clips sideways does not widen the page and is
# left out: what to fix.
WIDEST = """() => {
  const limit = window.innerWidth;
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const right = (el) => {
    const box = el.getBoundingClientRect();
    const scrolls = getComputedStyle(el).overflowX !== 'visible';
    return scrolls ? box.right : Math.max(box.right, box.left + el.scrollWidth);
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + [...el.classList].map(c => '.' + c).join('');
  const past = [...document.body.querySelectorAll('*')].filter(el => right(el) > limit && !clipped(el));
  return past.filter(el => !past.some(other => other !== el && el.contains(other))).slice(0, 5)
    .map(el => name(el) + ' (right edge ' + Math.round(right(el)) + ' px: '
      + JSON.stringify((el.innerText || '').trim().slice(0, 40)) + ')');
}"""


def fresh_folder(name: str) -> Path:
    """``test-artifacts/<name>``, emptied of an earlier run's screenshots."""
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


class CheckedVisit:
    """One person's browser at one width, logged in (``username=None``: a visitor who is not).
    ``expected_failure(response)``: a response of 400 or more the test provokes on purpose (it checks
    those itself)."""

    def __init__(
        self,
        browser,
        base_url: str,
        folder: Path,
        width: int,
        username: str | None,
        *,
        expected_failure: Callable[[object], bool] = lambda response: False,
    ):
        self.base_url, self.folder, self.width = base_url, folder, width
        self.context = browser.new_context(
            locale="es-BO", timezone_id="America/La_Paz", viewport={"width": width, "height": 900}
        )
        self.context.set_default_timeout(20_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        # A resource that fails to load is named by its response (the console does not say which).
        self.page.on(
            "console",
            lambda m: (
                m.type == "error"
                and not m.text.startswith("Failed to load resource")
                and self.errors.append(m.text)
            ),
        )
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on(
            "response",
            lambda r: (
                r.status >= 400
                and not r.url.endswith("/favicon.ico")
                and not expected_failure(r)
                and self.errors.append(f"{r.status} {r.url}")
            ),
        )
        if username is None:  # a visitor who has not logged in
            return
        visit(self.page, f"{base_url}/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", "demo")
        follow(self.page, self.page.locator("main form button[type=submit]"))
        assert "/login/" not in self.page.url

    def check(self, name: str, *, links: bool = True) -> None:
        """``links=False``: the page's links are not followed (a test that checks them itself)."""
        page = self.page
        assert not self.errors, f"{name}: console errors {self.errors}"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            past = page.evaluate(WIDEST)
            raise AssertionError(
                f"{name} at {self.width} px: {overflow} px of horizontal scroll; past the edge: {past}"
            )
        assert page.evaluate("document.documentElement.lang"), f"{name}: <html> has no lang"
        hrefs = page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href')).filter(h => h.startsWith('/'))"
        )
        for href in sorted(set(hrefs)) if links else ():
            if href.endswith(".xlsx") or "/logout" in href:
                continue
            status = page.request.get(self.base_url + href.replace("&amp;", "&")).status
            assert status < 400, f"{name}: broken link {href} ({status})"
        page.evaluate(AXE.read_text())  # by DevTools, so the page's CSP (no inline script) stays on
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        assert not violations, f"{name} at {self.width} px: axe-core {violations}"
        page.screenshot(path=str(self.folder / f"{self.width}-{name}.png"), full_page=True)
