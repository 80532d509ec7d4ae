"""Browser fixtures: one headless Debian Chromium per test module, a fresh context per user.

Never `playwright install`: the suite drives the system Chromium (`make test` installs it when it
is missing). Without it these tests fail loudly rather than skip.
"""

import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module, and Django's async-safety check off only while it runs.

    Playwright's sync API runs an event loop in the test thread, and Django's ORM refuses sync
    calls from a thread with a running loop (SynchronousOnlyOperation). The tests' own ORM calls
    are plain sync code, so lifting the check is safe here, and nowhere else.
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the e2e tests need Debian's Chromium. Run `make system-deps` "
            "(or `apt-get install chromium` as root). Do not run `playwright install`.",
            pytrace=False,
        )
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _wagtail_initial_rows(transactional_db):
    """Put back what Wagtail's migrations made (locale, root page, default site, root collection).

    The live server needs transactional tests, and each one ends by flushing every table: without
    this, only the first browser test of a run would find the root page its campaign page needs.
    """
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant
    from wagtail.models import Collection, Locale, Page, Site

    if Page.get_first_root_node() is None:
        language = get_supported_content_language_variant(settings.LANGUAGE_CODE)
        locale, _ = Locale.objects.get_or_create(language_code=language)
        root = Page.add_root(instance=Page(title="Root", slug="root", locale=locale))
        welcome = root.add_child(instance=Page(title="Welcome", slug="home", locale=locale))
        Site.objects.get_or_create(
            is_default_site=True,
            defaults={"hostname": "localhost", "port": 80, "root_page": welcome},
        )
    if Collection.get_first_root_node() is None:
        Collection.add_root(name="Root")


ARTEFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artefacts"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each test's outcome on the item, so `new_page` can tell a failure at teardown."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request) -> bool:
    return any(
        getattr(getattr(request.node, f"report_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@pytest.fixture(scope="session")
def _one_request_at_a_time(live_server):
    """The live server answers one request at a time.

    Its threads share the test's in-memory SQLite connection, and each request is a transaction
    (ATOMIC_REQUESTS): when a page's parallel requests overlap (the admin loads /admin/jsi18n/
    and /admin/sprite/ beside the page itself), their transactions interleave on that one
    connection and fail ("cannot start a transaction within a transaction").
    """
    httpd = live_server.thread.httpd
    app = httpd.get_app()
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            return app(environ, start_response)

    httpd.set_app(one_at_a_time)
    return live_server


@pytest.fixture
def new_page(browser, live_server, _one_request_at_a_time, request):
    """Open a page in a fresh browser context (its own cookies: one per person in the story).

    When the test fails, every page it opened is kept as a full-page screenshot in
    var/test-artefacts/<test>-<n>.png (CI keeps that folder), showing where each person was.
    """
    contexts = []

    def _new_page(*, clipboard: bool = False):
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}
        )
        if clipboard:
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    if _failed(request):
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        pages = [page for context in contexts for page in context.pages]
        for number, page in enumerate(pages, 1):
            try:
                page.screenshot(path=str(ARTEFACTS / f"{name}-{number}.png"), full_page=True)
            except Exception as error:  # noqa: BLE001 (a closed page must not hide the failure)
                print(f"no screenshot of page {number}: {error}")
    for context in contexts:
        context.close()
