"""Headless Chromium (Debian's ``/usr/bin/chromium``) driven by Playwright against pytest-django's
live server. Never ``playwright install``: CI installs the distribution's chromium (``.ci/run``);
without it the browser tests are skipped with the reason."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session", autouse=True)
def _live_server_serves_no_media():
    """Uploaded documents have no public URL (``MEDIA_URL = None``): they are served only by the
    permission-checked download view. Django's live server wraps the site in a media-files handler
    that cannot take ``None``; a URL on another host keeps that handler out of the way."""
    from django.test.utils import override_settings

    with override_settings(MEDIA_URL="http://media.invalid/"):
        yield


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The demo users log in many times; a fast hasher keeps the run short (tests only)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def chromium(monkeypatch):
    """A launched headless Chromium; one browser context per person (see ``Journey.as_user``)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is absent (apt-get install -y chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls (seeding,
    # final checks) are synchronous and run between browser calls, never inside the loop.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
            # ORM calls made while Playwright's loop runs get connections of their own (asgiref's
            # context-local storage): close them here, or PostgreSQL refuses to drop the test
            # database at the end ("being accessed by other users").
            from django.db import connections

            connections.close_all()


@pytest.fixture
def journey_dir() -> Path:
    """``test-artifacts/journey/`` (gitignored), emptied at the start of the run: the screenshots
    of every page the journey visits, for a person to look at."""
    folder = ARTIFACTS / "journey"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
