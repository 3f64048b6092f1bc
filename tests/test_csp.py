"""A Content-Security-Policy header on every page (issue 10 §5), and templates that keep to it.

tests/browser checks in Chromium that the pages still work under it with no CSP violation in the
console; these tests check the header and the nonces without a browser, and that no template brings
back an inline script, style or event handler the policy would block.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from cases.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
HEADER = "Content-Security-Policy"


def policy(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response[HEADER].split(";") if part.strip()]
    return {name: values for name, *values in directives}


def test_the_policy_is_strict():
    client = Client()
    found = policy(client.get("/login/"))
    assert found["default-src"] == ["'self'"]
    # A page with no inline code gets no nonce at all ('self' only).
    assert found["script-src"] == ["'self'"] and found["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in found["script-src"] + found["style-src"]
    assert "'unsafe-eval'" not in found["script-src"]
    assert found["object-src"] == ["'none'"] and found["frame-ancestors"] == ["'none'"]
    assert found["form-action"] == ["'self'"]


@pytest.mark.parametrize("url", ["/login/", "/reports/", "/api/v1/units/", "/no-such-page/", "/admin/login/"])
def test_every_response_has_the_header(url):
    assert HEADER in Client().get(url)


def test_an_inline_style_carries_the_nonce_of_its_response():
    control = UserFactory(username="control1", roles=[Role.INTERNAL_CONTROL])
    client = Client()
    client.force_login(control)
    first, second = client.get("/audit/"), client.get("/audit/")
    assert first.status_code == 200
    nonce = re.search(r"<style nonce=\"([^\"]+)\">", first.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in policy(first)["style-src"]
    assert f"'nonce-{nonce}'" not in policy(second)["style-src"]  # a new one per response


def test_the_api_docs_page_relaxes_styles_only():
    client = Client()
    client.force_login(UserFactory(roles=[Role.ADMIN]))
    response = client.get("/api/v1/docs/")
    assert response.status_code == 200
    found = policy(response)
    assert "'unsafe-inline'" in found["style-src"]
    assert found["script-src"][0] == "'self'" and "'unsafe-inline'" not in found["script-src"]
    page = response.content.decode()
    assert "<script>" not in page  # its script comes from its own URL
    script = client.get(re.search(r'<script src="([^"]*script[^"]*)"', page).group(1).replace("&amp;", "&"))
    assert script.status_code == 200 and b"SwaggerUIBundle" in script.content


def _templates() -> list[Path]:
    folders = [ROOT / "templates", *ROOT.glob("*/templates")]
    return [path for folder in folders for path in folder.rglob("*.html") if ".venv" not in path.parts]


INLINE_TAG = re.compile(r"<(script|style)\b(?![^>]*\bsrc=)([^>]*)>", re.IGNORECASE)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTR = re.compile(r"\sstyle\s*=", re.IGNORECASE)


def test_no_template_has_inline_code_the_policy_would_block():
    templates = _templates()
    assert len(templates) > 30
    problems = []
    for path in templates:
        text = path.read_text()
        for match in INLINE_TAG.finditer(text):
            attributes = match.group(2)
            if 'nonce="{{ csp_nonce }}"' not in attributes and 'type="application/json"' not in attributes:
                problems.append(f"{path.relative_to(ROOT)}: <{match.group(1)}> without the nonce")
        if HANDLER.search(text):
            problems.append(f"{path.relative_to(ROOT)}: an inline event handler (on…=)")
        if STYLE_ATTR.search(text):
            problems.append(f'{path.relative_to(ROOT)}: a style="…" attribute')
    assert not problems, problems


def test_report_only_mode_is_a_switch():
    assert settings.SECURE_CSP and not getattr(settings, "SECURE_CSP_REPORT_ONLY", {})
