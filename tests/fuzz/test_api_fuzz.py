"""Property-based fuzzing of the JSON API against the OpenAPI document it serves.

Schemathesis generates requests from the document (valid ones, and ones that break it) for
every operation, as a learner and as an organisation administrator, on SQLite and on
PostgreSQL. Any 5xx fails, as does a response whose status, media type or body the document
does not describe. The run is derandomized (the same requests every time) and bounded by a
fixed number of examples per operation, so the four runs take about two minutes in all.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from proctor.kernel.context import open_context
from proctor.kernel.settings import Settings
from tests.browser.serving import running
from tests.conftest import _truncate_postgres
from tests.factories import PASSWORD, build_world

pytestmark = pytest.mark.fuzz

# Examples per operation and generation mode: about 1,000 requests per role and database.
EXAMPLES = 7
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Ending the fuzzing session's own login would turn every later request into a 401.
# A study certificate takes a second or more of CPU to lay out with its CJK font, and its
# only inputs are a learner id and a year (tests/proctor/archive/test_certificate.py covers
# them, bad ones included): fuzzing it would mostly measure the machine's load.
SKIP = {
    ("POST", "/api/v1/logout"),
    ("GET", "/api/v1/me/certificate.pdf"),
    ("GET", "/api/v1/learners/{learner_id}/certificate.pdf"),
}


@dataclass
class Served:
    """The app served from its own thread and event loop, as a client elsewhere sees it."""

    base_url: str
    stop: threading.Event = field(default_factory=threading.Event)


def _serve(settings: Settings, ready: list[str], stop: threading.Event) -> None:
    async def main() -> None:
        ctx = open_context(settings)
        await build_world(ctx)
        async with running(ctx) as base_url:
            ready.append(base_url)
            await asyncio.to_thread(stop.wait)

    asyncio.run(main())


def _load_schemathesis() -> None:
    """Import what loading a document needs before the server thread starts: pytest
    rewrites schemathesis's modules as they load, and Python 3.11's parser, run in two
    threads at once (the import here, the server compiling a page template there), failed
    one run with "AST constructor recursion depth mismatch"."""
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "warm-up", "version": "1"},
        "paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}},
    }
    for result in schemathesis.openapi.from_dict(doc).get_all_operations():
        result.ok().as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE)


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "fuzz.db")
        url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        asyncio.run(_truncate_postgres(url))
    settings_ = Settings(
        database_url=url,
        data_dir=tmp_path / "data",
        secret_key="fuzz-secret-key-0123456789",
        argon2_time_cost=1,
        argon2_memory_kib=64,
    )
    _load_schemathesis()
    ready: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=_serve, args=(settings_, ready, stop), daemon=True)
    thread.start()
    for _ in range(600):
        if ready or not thread.is_alive():
            break
        stop.wait(0.05)
    assert ready, "the app did not start"
    yield Served(ready[0], stop)
    stop.set()
    thread.join(timeout=30)


def _token(session: requests.Session, base_url: str, username: str) -> str:
    resp = session.post(
        f"{base_url}/api/v1/login",
        json={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    token: str = resp.json()["token"]
    return token


@pytest.mark.parametrize("username", ["zhang", "fr_admin"])
def test_no_server_errors_and_responses_match_the_document(served: Served, username: str) -> None:
    session = requests.Session()
    headers = {"Authorization": f"Bearer {_token(session, served.base_url, username)}"}
    doc = session.get(f"{served.base_url}/api/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(doc)
    made: dict[str, Any] = {"requests": 0, "statuses": {}}
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                derandomize=True,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                response = case.call_and_validate(
                    base_url=served.base_url, session=session, headers=headers, checks=CHECKS
                )
                made["requests"] += 1
                code = response.status_code
                made["statuses"][code] = made["statuses"].get(code, 0) + 1

            try:
                call()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report them all
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    server_errors = sum(n for code, n in made["statuses"].items() if code >= 500)
    print(
        f"\nfuzz as {username}: {made['requests']} requests, {server_errors} server errors, "
        f"statuses {dict(sorted(made['statuses'].items()))}"
    )
    assert not failures, "\n\n".join(failures)
    assert server_errors == 0
    assert made["requests"] >= 900
