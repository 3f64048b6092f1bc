"""Issue 11 for every page, not a chosen few: each demo person (and a visitor who has not logged in)
crawls, breadth-first from the home page and its menu, the same-origin links it can reach on the demo's
data (``seed_demo`` + ``seed_demo_cases``: INI, TRF, REG, CPA and LIQ cases, tasks in the inboxes),
and every page is checked at 390 px and at 1366 px by ``CheckedVisit.check``: no response of 400 or
more, no console error, no horizontal scroll (the failure names what sticks out), ``<html lang>``,
no serious or critical axe-core violation. Screenshots: ``test-artifacts/crawl/<width>-<name>.png``.

Pages are deduplicated by URL pattern (numbers and codes in the path, query values left out): at most
``PER_PATTERN`` pages of a pattern, one task page per step. Left out: logging out, downloads (PDF,
XLSX, CSV, documents and files), Django's own admin site and the API (Swagger UI) — not this
project's templates; forms are never submitted, so nothing is changed by the crawl except that each
staff person first claims one open task per step it may take (so its decision forms are crawled)."""

from __future__ import annotations

import io
import re
import time
from collections import deque
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.management import call_command

from .checked import AXE, CheckedVisit, fresh_folder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The demo's people (seed_demo), one per role, in groups that see the same pages; a group's crawl checks
# a URL pattern once, whoever reaches it first (its home page and inbox: once per person).
GROUPS = {
    "visitor": (None,),  # not logged in
    "applicants": ("solicitante1", "solicitante3"),  # solicitante3 has no unit yet: she registers one
    "case-staff": ("evaluador1", "legal1", "finanzas1", "director1"),
    "oversight": ("control1", "admin1", "gestor1"),  # internal control, administrator, program manager
}
# Each group must reach these sections (what its people work on in the demo's data).
SECTIONS = {
    "visitor": ("/reports/", "/password-reset/"),
    "applicants": ("/initiatives/<n>/", "/registrations/<n>/", "/compensations/settlements/<n>/", "/tasks/"),
    "case-staff": (
        "/initiatives/<n>/",
        "/transfers/<n>/",
        "/registrations/<n>/",
        "/compensations/<n>/",
        "/compensations/settlements/<n>/",
        "/tasks/<n>/",
        "/budget/",
    ),
    "oversight": (
        "/audit/",
        "/audit/case/<code>/",
        "/config/",
        "/config/staff/<n>/",
        "/calls/<code>/",
        "/imports/",
    ),
}
PER_PERSON = ("/", "/tasks/")
WIDTHS = (390, 1366)
SKIPPED_PREFIXES = ("/logout/", "/admin/", "/api/", "/i18n/", "/static/")
# Downloads: by extension, and the views that answer with a file (documents, official PDFs, job files,
# evidence, the audit checkpoint's key and verifier).
DOWNLOAD = re.compile(
    r"\.(pdf|xlsx|csv|zip|json|pem|py)$|/documents/\d+/$|/official/[^/]+/(scan/)?$|/file$|/respaldo/$"
)
CODE = re.compile(r"^[A-Z][A-Z0-9_-]*$")  # INI-2026-000004, PROLECHE-2026-01, PROMYPE


def pattern(path: str) -> str:
    """``/initiatives/12/`` and ``/initiatives/31/?page=2`` are one pattern, ``/initiatives/<n>/``."""
    return "/".join("<n>" if p.isdigit() else "<code>" if CODE.match(p) else p for p in path.split("/"))


def _seed():
    call_command("seed_demo", "--force", verbosity=0, stdout=io.StringIO())
    call_command("seed_demo_cases", "--force", verbosity=0, stdout=io.StringIO())


def _claim_one_task_per_step(username: str) -> None:
    """The person claims, through the service, one open task of each step it may take."""
    from django.core.exceptions import PermissionDenied
    from viewflow.workflow.status import STATUS

    from approvals import services as approvals
    from cases.roles import roles_of
    from registry.models import User
    from workflows.models import CaseTask

    user = User.objects.get(username=username)
    steps: set[str] = set()
    tasks = CaseTask.objects.filter(status=STATUS.NEW, is_open=True, role__in=roles_of(user))
    for task in tasks.exclude(role="applicant").order_by("pk"):
        if task.step in steps or approvals.candidate_refusal(user, task) is not None:
            continue
        try:
            approvals.claim_task(task.pk, actor=user)
        except PermissionDenied:
            continue
        steps.add(task.step)


def crawl(chromium, base_url: str, folder, username: str | None, seen: set, failures: list) -> list[str]:
    """Checks every page ``username`` reaches whose pattern is not in ``seen`` (then adds it); returns
    the paths checked. What a check finds is added to ``failures`` and the crawl goes on, so that one
    run names every page to fix."""
    who = username or "visitor"
    visits = {width: CheckedVisit(chromium, base_url, folder, width, username) for width in WIDTHS}
    page = visits[WIDTHS[0]].page
    host = urlsplit(base_url).netloc
    queue = deque([("/", "(start)")])
    queued = {"/"}
    checked: list[str] = []
    mine: set[str] = set()  # the patterns this person has opened: each once, for its links
    while queue:
        path, came_from = queue.popleft()
        key = pattern(urlsplit(path).path)
        if key in mine:
            continue
        response = page.goto(base_url + path)
        status = response.status if response else None
        assert status is not None and status < 400, f"{who}: {path} answered {status} (link on {came_from})"
        if urlsplit(page.url).path == "/login/" and path != "/login/" and username:
            pytest.fail(f"{who}: {path} sent to the login page (link on {came_from})")
        if key == "/tasks/<n>/":  # one task page per step: its title is "<step> · <case>"
            key = f"{key} {page.title().split(' · ')[0]}"
            if key in mine:
                continue
        mine.add(key)
        name = f"{who}-{len(checked):02d}-" + (re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home")
        for href in page.eval_on_selector_all("a[href]:not([download])", "els => els.map(e => e.href)"):
            link = urlsplit(urljoin(page.url, href))
            target = link.path + (f"?{link.query}" if link.query else "")
            if (
                link.netloc != host
                or link.scheme not in ("http", "https")
                or target in queued
                or link.path.startswith(SKIPPED_PREFIXES)
                or DOWNLOAD.search(link.path)
            ):
                continue
            queued.add(target)
            queue.append((target, path))
        if key in seen and key not in PER_PERSON:
            continue  # checked already, for another person of the group
        seen.add(key)
        for width, v in visits.items():
            if width != WIDTHS[0]:
                v.page.goto(base_url + path)
            try:
                v.check(name[:120], links=False)
            except AssertionError as failure:
                failures.append(f"{path} ({who}): {failure}".splitlines()[0])
            v.errors.clear()
        checked.append(path)
    for v in visits.values():
        v.context.close()
    return checked


@pytest.mark.parametrize("group", GROUPS)
def test_every_page_at_390_and_1366_px(chromium, live_server, group):
    if not AXE.exists():
        pytest.skip(f"{AXE} is absent (npm ci --prefix tests/browser); .ci/run installs it")
    folder = fresh_folder(f"crawl/{group}")
    start = time.monotonic()
    _seed()
    seeded = time.monotonic()
    report, seen, failures = {}, set(), []
    for username in GROUPS[group]:
        if group == "case-staff":
            _claim_one_task_per_step(username)
        report[username or "visitor"] = crawl(chromium, live_server.url, folder, username, seen, failures)
    print(f"\n{group}: seeded in {seeded - start:.0f} s; crawled in {time.monotonic() - seeded:.0f} s")
    for who, paths in report.items():
        print(f"{who}: {len(paths)} pages: {' '.join(paths)}")
    assert not failures, "\n".join(failures)
    missing = [section for section in SECTIONS[group] if not any(k.split(" ")[0] == section for k in seen)]
    assert not missing, f"the crawl never reached {missing}: {sorted(seen)}"
