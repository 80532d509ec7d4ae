"""Accessibility checks for browser tests: axe-core over the page a test has open.

    from tests.e2e.axe import assert_no_serious_axe_findings

    page.goto("/admin/commissions/")
    assert_no_serious_axe_findings(page)
    assert_no_serious_axe_findings(page, exclude=["#wagtail-userbar"])

`assert_no_serious_axe_findings(page, *, exclude=())` runs axe-core (the copy bundled in the
`axe-playwright-python` package, so nothing is fetched from the network) against the document
currently open in `page`, with axe's default rules (WCAG 2.0-2.2 A and AA plus best practices),
and fails the test when any finding has impact "serious" or "critical", listing each one as

    rule id (impact): what it asks for
        help page URL
        - CSS selector of an offending element: axe's summary of what is wrong there

"minor" and "moderate" findings are left to human judgment and never fail a test.
`exclude` takes CSS selectors of parts of the page to leave out (a third-party widget, say);
excluding needs a reason in a comment beside the call.

It works under our strict Content Security Policy: axe is injected with `page.evaluate`, which
runs through the DevTools protocol, not as a page script, so `script-src` does not block it.
Check the page as a person would see it: after `goto` or a form post, and after anything the
test waits for (opened menus, error messages) is on screen.
"""

from axe_playwright_python.base import AXE_SCRIPT

FAILING_IMPACTS = ("serious", "critical")

# axe.run's options: report violations only (passes and incomplete results are large and unused).
AXE_OPTIONS = {"resultTypes": ["violations"]}


def axe_findings(page, *, exclude=()) -> list[dict]:
    """axe-core's violations for the page open in `page` (every impact), as axe reports them."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    # The whole document (axe needs something to include when it is given a context object).
    context = {"include": [["html"]], "exclude": [[selector] for selector in exclude]}
    results = page.evaluate(
        "([context, options]) => axe.run(context, options)", [context, AXE_OPTIONS]
    )
    return results["violations"]


def format_findings(findings: list[dict]) -> str:
    """Findings as readable lines: rule, impact, what it asks for, and where on the page."""
    lines = []
    for finding in findings:
        lines.append(f"{finding['id']} ({finding['impact']}): {finding['help']}")
        lines.append(f"    {finding['helpUrl']}")
        for node in finding["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    - {target}: {summary}" if summary else f"    - {target}")
    return "\n".join(lines)


def assert_no_serious_axe_findings(page, *, exclude=()) -> None:
    """Fail when axe finds anything serious or critical on the page open in `page`.

    `exclude`: CSS selectors of parts of the page to leave out of the check."""
    serious = [f for f in axe_findings(page, exclude=exclude) if f["impact"] in FAILING_IMPACTS]
    if serious:
        raise AssertionError(
            f"axe found {len(serious)} serious or critical accessibility problem"
            f"{'s' if len(serious) != 1 else ''} on {page.url}:\n{format_findings(serious)}"
        )
