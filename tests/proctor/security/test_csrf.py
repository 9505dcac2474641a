"""Cross-site requests: a page of another site cannot act with a signed-in user's cookie."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient

from proctor.kernel.security import csrf
from tests.factories import PASSWORD, World

OURS = frozenset({"http://127.0.0.1:8080", "https://xueyuan.example"})


@pytest.mark.parametrize(
    ("method", "bearer", "cookie", "origin", "referer", "token_ok", "expected"),
    [
        ("GET", False, True, "http://evil.example", None, False, True),
        ("POST", True, True, None, None, False, True),  # bearer tokens are never ambient
        ("POST", False, True, "http://127.0.0.1:8080", None, False, True),
        ("POST", False, True, "HTTP://127.0.0.1:8080", None, False, True),
        ("POST", False, True, "https://xueyuan.example:443", None, False, True),
        ("POST", False, True, "http://evil.example", None, False, False),
        ("POST", False, True, "http://127.0.0.1:8081", None, False, False),
        ("POST", False, True, "https://127.0.0.1:8080", None, False, False),
        ("POST", False, True, "null", None, False, False),
        ("POST", False, True, "null", "http://127.0.0.1:8080/review", False, False),
        ("POST", False, True, None, None, False, False),
        ("POST", False, True, None, "http://127.0.0.1:8080/review/cases/3", False, True),
        ("POST", False, True, None, "http://evil.example/http://127.0.0.1:8080/", False, False),
        ("POST", False, True, None, "/relative", False, False),
        ("POST", False, True, None, None, True, True),  # the session's token
        ("POST", False, True, "null", None, True, True),
        ("DELETE", False, True, "http://evil.example", None, False, False),
        ("PUT", False, True, None, None, False, False),
        ("PATCH", False, True, "http://127.0.0.1:8080", None, False, True),
        # Without a session cookie: API clients send no Origin; browsers of other sites do.
        ("POST", False, False, None, None, False, True),
        ("POST", False, False, "http://127.0.0.1:8080", None, False, True),
        ("POST", False, False, "http://evil.example", None, False, False),
        ("POST", False, False, "null", None, False, False),
        ("POST", False, False, None, "http://evil.example/login", False, False),
    ],
)
def test_policy(
    method: str,
    bearer: bool,
    cookie: bool,
    origin: str | None,
    referer: str | None,
    token_ok: bool,
    expected: bool,
) -> None:
    verdict = csrf.allowed(
        method=method,
        bearer=bearer,
        cookie=cookie,
        origin=origin,
        referer=referer,
        own_origins=OURS,
        token_ok=token_ok,
    )
    assert verdict is expected


def test_tokens_are_per_session_and_secret() -> None:
    token = csrf.token_for("secret-one-0123456789", "session-a")
    assert csrf.token_matches("secret-one-0123456789", "session-a", token)
    assert not csrf.token_matches("secret-one-0123456789", "session-b", token)
    assert not csrf.token_matches("secret-two-0123456789", "session-a", token)
    assert not csrf.token_matches("secret-one-0123456789", "session-a", "")


def _origin(client: TestClient) -> str:
    return str(client.make_url("/")).rstrip("/")


async def _sign_in_with_cookie(client: TestClient, username: str = "cs_reviewer") -> None:
    resp = await client.post(
        "/login", data={"username": username, "password": PASSWORD}, allow_redirects=False
    )
    assert resp.status == 303


async def _signed_in(client: TestClient) -> bool:
    return (await client.get("/api/v1/me")).status == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "null"},
        {"Origin": "http://evil.example"},
        {"Referer": "http://evil.example/page"},
        {"X-CSRF-Token": "0" * 64},
    ],
    ids=["no-origin", "origin-null", "other-origin", "other-referer", "wrong-token"],
)
async def test_cookie_posts_from_elsewhere_are_refused_and_change_nothing(
    client: TestClient, world: World, headers: dict[str, str]
) -> None:
    await _sign_in_with_cookie(client)
    page = await client.post("/logout", headers=headers, allow_redirects=False)
    assert page.status == 403
    assert "跨站请求被拒绝" in await page.text()
    api = await client.post(
        "/api/v1/logout", data='{"x": 1}', headers={**headers, "Content-Type": "text/plain"}
    )
    assert api.status == 403
    assert (await api.json())["title"] == "bad_origin"
    assert await _signed_in(client)  # neither sign-out happened


async def test_our_pages_requests_are_accepted(client: TestClient, world: World) -> None:
    """Browsers send our Origin (or only Referer, older ones); scripts may send the token."""
    await _sign_in_with_cookie(client)
    resp = await client.post(
        "/api/v1/logout", headers={"Referer": f"{_origin(client)}/review"}, json={}
    )
    assert resp.status == 200
    assert not await _signed_in(client)

    await _sign_in_with_cookie(client)
    html = await (await client.get("/review")).text()
    match = re.search(r'<meta name="csrf-token" content="([0-9a-f]{64})">', html)
    assert match is not None
    resp = await client.post("/api/v1/logout", headers={"X-CSRF-Token": match.group(1)})
    assert resp.status == 200
    assert not await _signed_in(client)

    await _sign_in_with_cookie(client)
    resp = await client.post("/logout", headers={"Origin": _origin(client)}, allow_redirects=False)
    assert resp.status == 303
    assert not await _signed_in(client)


async def test_bearer_requests_need_no_origin(client: TestClient, world: World) -> None:
    resp = await client.post(
        "/api/v1/login", json={"username": "cs_reviewer", "password": PASSWORD}
    )
    token = (await resp.json())["token"]
    client.session.cookie_jar.clear()
    out = await client.post("/api/v1/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status == 200
    again = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert again.status == 401


async def test_another_site_cannot_sign_a_user_in(client: TestClient, world: World) -> None:
    """Login CSRF: a form on another site posting the attacker's credentials sets no cookie."""
    resp = await client.post(
        "/login",
        data={"username": "cs_reviewer", "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
    )
    assert resp.status == 403
    assert "proctor_session" not in resp.cookies
    assert not await _signed_in(client)


async def test_signing_in_again_is_not_a_cookie_request(client: TestClient, world: World) -> None:
    """An API client with a cookie jar signs in twice; a browser's session expired."""
    await _sign_in_with_cookie(client, "cs_reviewer")
    again = await client.post("/api/v1/login", json={"username": "zhang", "password": PASSWORD})
    assert again.status == 200
    foreign = await client.post(
        "/login",
        data={"username": "zhang", "password": PASSWORD},
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
    )
    assert foreign.status == 403
