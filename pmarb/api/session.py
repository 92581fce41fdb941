"""Dashboard sessions: a login form takes the API token and sets a signed, HttpOnly,
SameSite=Strict cookie; every form post carries the session's CSRF token.

The signing key is derived from the API token, so replacing the token signs everyone out and
every API replica sharing the token accepts the same sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

SESSION_COOKIE = "pmarb_session"
SESSION_MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"


class LoginRequiredError(Exception):
    """No dashboard session; pages redirect to the login form, posts answer 401."""


def session_secret(token: str) -> str:
    return hmac.new(token.encode(), b"pmarb dashboard session v1", hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def sign_in(request: Request) -> None:
    # A fresh CSRF token at login, so one planted before it is useless after.
    request.session.clear()
    request.session["auth"] = True
    request.session["csrf"] = secrets.token_urlsafe(32)


def require_session(request: Request) -> str:
    if request.session.get("auth") is not True:
        raise LoginRequiredError
    return "dashboard"


async def checked_form(request: Request) -> dict[str, Any]:
    """The posted form, once its CSRF token matches the session's (403 otherwise)."""
    form = await request.form()
    presented = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if not (
        isinstance(presented, str)
        and isinstance(expected, str)
        and hmac.compare_digest(presented.encode(), expected.encode())
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or invalid CSRF token")
    return {key: value for key, value in form.items() if key != CSRF_FIELD}


DashboardUser = Annotated[str, Depends(require_session)]
"""Dependency order matters: the session check (401) runs before the CSRF check (403)."""


async def form_after_login(_: DashboardUser, request: Request) -> dict[str, Any]:
    return await checked_form(request)


CheckedForm = Annotated[dict[str, Any], Depends(form_after_login)]
