"""axe-core checks for the browser tests, run under the site's own CSP.

axe-playwright-python vendors axe.min.js and injects it with Playwright's `page.evaluate`
(the DevTools protocol), not through a <script> in the page, so the strict CSP stays on and
still applies to everything the page itself loads.
"""

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

_AXE = Axe()
BLOCKING_IMPACTS = {"serious", "critical"}

# Every id an aria-describedby / aria-labelledby names, that the document does not have.
_DANGLING_REFERENCES = """
() => {
  const missing = [];
  for (const attribute of ["aria-describedby", "aria-labelledby", "aria-controls"]) {
    for (const element of document.querySelectorAll(`[${attribute}]`)) {
      for (const id of element.getAttribute(attribute).split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) {
          missing.push(`${element.id || element.name || element.tagName} ${attribute}=${id}`);
        }
      }
    }
  }
  return missing;
}
"""


def blocking_violations(page: Page, *, exclude: tuple[str, ...] = ()) -> list[str]:
    """axe violations of impact serious or critical, one line per rule and element."""
    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    results = _AXE.run(page, context=context)
    return [
        f"{violation['id']} ({violation['impact']}) at {node['target']}: {violation['help']}"
        for violation in results.response["violations"]
        if violation["impact"] in BLOCKING_IMPACTS
        for node in violation["nodes"]
    ]


def dangling_references(page: Page) -> list[str]:
    return page.evaluate(_DANGLING_REFERENCES)


def assert_accessible(page: Page, *, exclude: tuple[str, ...] = ()) -> None:
    where = page.url
    problems = blocking_violations(page, exclude=exclude) + dangling_references(page)
    assert problems == [], f"{where}:\n" + "\n".join(problems)
