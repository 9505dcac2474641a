"""After signing in, the user goes back only to a page of this site."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from aiohttp.test_utils import TestClient

from proctor.kernel.security.redirects import local_target
from tests.factories import PASSWORD, World


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/review/cases/7", "/review/cases/7"),
        ("/reports?org=3&year=2026", "/reports?org=3&year=2026"),
        ("/archive#entry-4", "/archive#entry-4"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("/\t/evil.example", "/"),  # browsers drop the tab: //evil.example
        ("/\n/evil.example", "/"),
        ("/\r\n/evil.example", "/"),
        ("/\\evil.example", "/"),  # read as //evil.example
        ("\\\\evil.example", "/"),
        (" //evil.example", "/"),
        ("https://evil.example/", "/"),
        ("http:/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/" + "a" * 3000, "/"),
    ],
)
def test_only_paths_of_this_site_are_kept(target: str | None, expected: str) -> None:
    assert local_target(target) == expected


@pytest.mark.parametrize(
    "raw_next",
    [
        "%2F%09%2Fevil.example",
        "%2F%0A%2Fevil.example",
        "%2F%2Fx",
        "%2F%5Cx",
        "https%3A%2F%2Fevil.example",
    ],
)
async def test_login_never_redirects_off_site(
    client: TestClient, world: World, raw_next: str
) -> None:
    """The form carries ``next`` from the login URL; after signing in the user lands home."""
    page = await client.get(f"/login?next={raw_next}")
    html = await page.text()
    assert "evil" not in html and 'name="next" value="/"' in html
    # A forged form (the hidden field edited) is refused just the same.
    resp = await client.post(
        "/login",
        data={"username": "fr_admin", "password": PASSWORD, "next": unquote(raw_next)},
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == "/"


async def test_login_returns_to_the_page_that_asked(client: TestClient, world: World) -> None:
    """A signed-out visit to a page comes back to it, query string included, after login."""
    first = await client.get("/reports?org=1&year=2026", allow_redirects=False)
    assert first.status == 303
    login_url = first.headers["Location"]
    assert parse_qs(urlsplit(login_url).query) == {"next": ["/reports?org=1&year=2026"]}
    page = await client.get(login_url)
    assert 'name="next" value="/reports?org=1&amp;year=2026"' in await page.text()
    resp = await client.post(
        "/login",
        data={"username": "fr_admin", "password": PASSWORD, "next": "/reports?org=1&year=2026"},
        allow_redirects=False,
    )
    assert resp.headers["Location"] == "/reports?org=1&year=2026"
