"""The moderator console through the test client: sign-in, the session cookie, CSRF on
every form, and forms that run the application's commands (on both stores)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from infrastructure.clock import ManualClock
from interface.http.auth import issue_token
from tests.api.conftest import BUYER, SECRET
from tests.api.test_appeals import under_review

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
_FORM_KEY = re.compile(r'name="form_key" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient[Any], role: str, sub: str, *,
            ttl: timedelta = timedelta(hours=1)) -> Any:
    form = client.get("/console/sign-in")
    token = issue_token(SECRET, role, sub, ttl=ttl)
    return client.post("/console/sign-in", data={"token": token, "_csrf_token": csrf_of(form.text)},
                       follow_redirects=False)


def case_page(client: TestClient[Any], case: dict[str, Any]) -> str:
    response = client.get(f"/console/cases/{case['id']}")
    assert response.status_code == 200, response.text
    text: str = response.text
    return text


def version_of(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "the page has no decision form"
    return found.group(1)


def send_form(client: TestClient[Any], case: dict[str, Any], action: str,
              fields: dict[str, str], *, page: str | None = None) -> Any:
    html = page or case_page(client, case)
    form_at = html.find(f'action="/console/cases/{case["id"]}/{action}"')
    key = _FORM_KEY.search(html, max(form_at, 0))
    assert key, "the page has no form"
    data = {"_csrf_token": csrf_of(html), "form_key": key.group(1), **fields}
    return client.post(f"/console/cases/{case['id']}/{action}", data=data,
                       follow_redirects=False)


def history_types(client: TestClient[Any], case: dict[str, Any]) -> list[str]:
    from tests.api.conftest import MODERATOR

    response = client.get(f"/v1/disputes/{case['id']}/history", headers=MODERATOR)
    assert response.status_code == 200, response.text
    return [entry["type"] for entry in response.json()["data"]]


# ---- signing in ----------------------------------------------------------------------


def test_a_moderator_signs_in_once_and_gets_a_strict_httponly_session(
    client: TestClient[Any],
) -> None:
    response = sign_in(client, "moderator", "m-1")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/queue"
    cookie = next(value for value in response.headers.get_list("set-cookie")
                  if value.startswith("dd_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    queue = client.get("/console/queue")
    assert queue.status_code == 200
    assert "m-1" in queue.text and "Cases awaiting a ruling" in queue.text


@pytest.mark.parametrize("role", ["buyer", "seller", "platform"])
def test_a_party_s_token_never_gets_a_console_session(client: TestClient[Any], role: str,
                                                        case: dict[str, Any]) -> None:
    response = sign_in(client, role, "b-1")
    assert response.status_code == 403
    assert "for moderators and analysts" in response.text
    assert not any(value.startswith("dd_console=") and "null" not in value
                   for value in response.headers.get_list("set-cookie"))
    for path in ("/console/queue", f"/console/cases/{case['id']}", "/console/sellers",
                 "/console/simulations", "/console/"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303, path
        assert page.headers["location"].startswith("/console/sign-in")


def test_a_bad_or_expired_token_is_refused_and_an_expiring_one_signs_out(
    client: TestClient[Any],
) -> None:
    form = client.get("/console/sign-in")
    bad = client.post("/console/sign-in", data={"token": "not-a-token",
                                                "_csrf_token": csrf_of(form.text)})
    assert bad.status_code == 401
    assert "malformed or its signature is wrong" in bad.text
    assert sign_in(client, "moderator", "m-1", ttl=timedelta(seconds=1)).status_code == 303
    time.sleep(1.2)
    after = client.get("/console/queue", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/console/sign-in")


def test_sign_in_sends_the_browser_back_where_it_was_going_inside_the_console_only(
    client: TestClient[Any],
) -> None:
    form = client.get("/console/sign-in?next=/console/sellers")
    assert 'name="next" value="/console/sellers"' in form.text
    outside = client.get("/console/sign-in?next=https://evil.example/")
    assert "evil.example" not in outside.text


def test_roles_see_their_own_sections(client: TestClient[Any]) -> None:
    sign_in(client, "analyst", "a-1")
    assert client.get("/console/queue").status_code == 403
    assert client.get("/console/simulations").status_code == 200
    client.post("/console/sign-out", data={"_csrf_token": csrf_of(
        client.get("/console/simulations").text)})
    sign_in(client, "moderator", "m-1")
    refused = client.get("/console/simulations")
    assert refused.status_code == 403 and "cannot use this page" in refused.text


# ---- CSRF on every form --------------------------------------------------------------


def console_forms(app: Litestar) -> list[str]:
    """Every path under /console that takes a POST (the route table, so a new form is
    covered without touching this test)."""
    paths = []
    for route in app.routes:
        if route.path.startswith("/console") and "POST" in getattr(route, "methods", ()):
            paths.append(route.path)
    return sorted(paths)


def test_every_console_form_refuses_a_missing_or_wrong_csrf_token(
    client: TestClient[Any], case: dict[str, Any],
) -> None:
    app = client.app
    assert isinstance(app, Litestar)
    forms = console_forms(app)
    assert "/console/sign-in" in forms and "/console/cases/{dispute_id:uuid}/{action:str}" in forms
    sign_in(client, "moderator", "m-1")
    before = history_types(client, case)
    for template in forms:
        path = template.replace("{dispute_id:uuid}", case["id"]).replace("{action:str}", "notes")
        for token in (None, "forged" + "0" * 60):
            data = {"text": "a note", "token": "x", "changes": "a=1"}
            if token is not None:
                data["_csrf_token"] = token
            response = client.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403, (path, token, response.status_code)
            assert "CSRF" in response.text
    assert history_types(client, case) == before
    # and the same form with its token goes through (the refusal was the token's)
    assert send_form(client, case, "notes", {"text": "a note"}).status_code == 303
    assert history_types(client, case)[-1] == "NoteAdded"


# ---- forms run the application's commands --------------------------------------------


def test_a_note_sent_twice_from_one_form_is_recorded_once(
    client: TestClient[Any], case: dict[str, Any],
) -> None:
    sign_in(client, "moderator", "m-1")
    page = case_page(client, case)
    first = send_form(client, case, "notes", {"text": "Called the seller."}, page=page)
    again = send_form(client, case, "notes", {"text": "Called the seller."}, page=page)
    assert first.status_code == again.status_code == 303
    assert history_types(client, case).count("NoteAdded") == 1
    shown = case_page(client, case)
    assert "Called the seller." in shown and "Internal notes" in shown


def test_a_refused_form_says_why_in_words(client: TestClient[Any], case: dict[str, Any]) -> None:
    sign_in(client, "moderator", "m-1")
    response = send_form(client, case, "rulings",
                         {"outcome": "refund_full", "reason_code": "not_shipped_in_time"})
    assert response.status_code == 303
    page = case_page(client, case)
    assert "Not now" in page and "class=\"message error\"" in page
    assert "InterventionResolved" not in history_types(client, case)


def test_a_moderator_rules_from_the_case_screen(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock,
) -> None:
    under_review(client, case, manual_clock)
    sign_in(client, "moderator", "m-1")
    page = case_page(client, case)
    assert 'action="/console/cases/' + case["id"] + '/rulings"' in page
    assert "America/Los_Angeles" in page  # deadlines in the region's local time
    response = send_form(client, case, "rulings", {
        "outcome": "refund_full", "reason_code": "not_shipped_in_time", "note": "Sorry.",
        "version": version_of(page),
    }, page=page)
    assert response.status_code == 303
    after = case_page(client, case)
    assert "Ruled" in after
    assert "InterventionResolved" in history_types(client, case)
    assert "Intervention resolved" in after  # the timeline, with the policy version
    assert "2027-01-default" in after


def test_a_decision_drawn_from_an_old_version_is_refused(
    client: TestClient[Any], case: dict[str, Any], manual_clock: ManualClock,
) -> None:
    under_review(client, case, manual_clock)
    sign_in(client, "moderator", "m-1")
    page = case_page(client, case)
    send_form(client, case, "notes", {"text": "meanwhile"})
    send_form(client, case, "rulings", {"outcome": "refund_full",
                                        "reason_code": "not_shipped_in_time",
                                        "version": version_of(page)}, page=page)
    assert "Changed meanwhile" in case_page(client, case)
    assert "InterventionResolved" not in history_types(client, case)


def test_an_analyst_simulates_from_set_lines_and_sees_the_report(
    client: TestClient[Any], case: dict[str, Any],
) -> None:
    sign_in(client, "analyst", "a-1")
    form = client.get("/console/simulations")
    report = client.post("/console/simulations", files={"policy_file": ("", b"")}, data={
        "_csrf_token": csrf_of(form.text),
        "changes": "regions.US.ship_within_business_days=3\n",
    })
    assert report.status_code == 200, report.text
    assert "Simulation:" in report.text and "Derived events" in report.text
    bad = client.post("/console/simulations", files={"policy_file": ("", b"")}, data={
        "_csrf_token": csrf_of(form.text), "changes": "regions.US.ship_within_business_days=-1",
    })
    assert bad.status_code == 422
    assert "not simulated" in bad.text


def test_the_seller_page_shows_the_scorecard_and_its_disputes(
    client: TestClient[Any], case: dict[str, Any],
) -> None:
    sign_in(client, "moderator", "m-1")
    for _ in range(50):  # the read models follow the log within moments
        page = client.get("/console/sellers/s-1")
        if page.status_code == 200 and case["order_id"] in page.text:
            break
        time.sleep(0.1)
    assert page.status_code == 200, page.text
    assert "Scorecard" in page.text and case["order_id"] in page.text
    assert client.get("/console/sellers/nobody").status_code == 404


def test_the_api_still_wants_its_bearer_token(client: TestClient[Any]) -> None:
    sign_in(client, "moderator", "m-1")
    assert client.get("/v1/moderation/queue").status_code == 401  # the cookie is not a token
    assert client.get("/v1/moderation/queue", headers=BUYER).status_code == 403
