"""Token login and logout: ``POST /v1/auth/tokens``, ``DELETE /v1/auth/tokens/current``.

Login validates ``email`` (``required|email``), ``password`` and ``device_name``
(``required``), then compares the email case-insensitively (a MySQL ``_ci`` collation)
and the password exactly; a mismatch is 422 ``The provided credentials are incorrect.``
on ``email``. The answer is ``{"status": "success", "token", "user"}`` with the API user
as ``{id, name, email, email_verified_at, current_team_id, created_at, updated_at}``; the
``login_shape`` reading answers ``{"data": {"token", "user"}}``, the bare token as text
(Sanctum's own "issuing mobile API tokens" route, whose request body this one is), or
``{"token": <Sanctum's NewAccessToken>}`` (``{"accessToken": {...}, "plainTextToken"}``), or
(``header``, as a Rails API with devise-jwt answers) the token only in an ``Authorization:
Bearer <token>`` response header and the user as the body, ``{"data": user, "message"}``;
or as Rails apps answer their own token logins: ``jwt`` 201 ``{"jwt", "user"}``, or
``user_token`` ``{"user": {..., "auth_token"}}`` (the user with its ``has_secure_token``); or, as
an Express team following the passport-jwt tutorials answers (``prefixed``), ``{"success": true,
"token": "Bearer <token>"}``.
Under the ``login_body="user"`` reading the login reads its credentials as Devise does,
``{"user": {"email", "password"}}`` (``params[:user]``), and answers anything else 401
``{"error": "Invalid Email or password."}``.
Under ``login_body="form"`` it reads them as FastAPI's ``OAuth2PasswordRequestForm`` does: a
form-encoded body with ``username`` and ``password`` (``grant_type``, when sent, must be
``password``); a JSON body fills no form field, so it is FastAPI's 422 ``{"detail": [{"type":
"missing", "loc": ["body", "username"], ...}]}``; wrong credentials are 401 ``{"detail":
"Incorrect username or password"}``; the answer is the OAuth 2.0 token response
``{"access_token", "token_type": "bearer"}`` (RFC 6749 section 5.1). Under ``login_body=
"username"`` the same fields are read from a JSON body instead (a pydantic ``{username,
password}`` model: ``email`` fills nothing, a form body is no JSON), with the same answers.
Logout revokes the bearer token: 200 ``{"message": "Token revoked successfully"}``.
"""

from __future__ import annotations

import hmac
import re
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.nextvisit.errors import respond
from sandboxes.nextvisit.php_json import php_json
from sandboxes.nextvisit.request_input import request_input
from sandboxes.nextvisit.store import Store
from sandboxes.nextvisit.validation import Rules
from sandboxes.toolkit.errors import ApiError

__all__ = ["Sessions"]

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # the sandbox's reading of Laravel's ``email`` rule: one @, text around it
_BAD_CREDENTIALS = "The provided credentials are incorrect."


class Sessions:
    """Login and logout over `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def login(self, request: Request) -> Response:
        store = self.store
        if store.readings.login_body in ("form", "username"):
            return await self._form_login(request)
        data = await request_input(request)
        if store.readings.login_body == "user":
            return self._devise_login(data)
        rules = Rules(data)
        ok, value = rules.field("email", required=True)
        if ok and not (isinstance(value, str) and _EMAIL.fullmatch(value)):
            rules.fail("email", "The :attribute field must be a valid email address.")
        rules.field("password", required=True)
        rules.field("device_name", required=True)
        rules.check()
        given = data["password"]
        good_email = isinstance(value, str) and value.casefold() == store.email.casefold()
        good_password = isinstance(given, str) and hmac.compare_digest(given.encode(), store.password)
        if not (good_email and good_password):
            raise ApiError(422, {"message": _BAD_CREDENTIALS, "errors": {"email": [_BAD_CREDENTIALS]}})
        return self._answer(store.tokens.issue(), data["device_name"])

    def _devise_login(self, data: dict[str, Any]) -> Response:
        """Devise's sign-in: the credentials under ``user``; no ``device_name``."""
        store = self.store
        user = data.get("user")
        email = user.get("email") if isinstance(user, dict) else None
        given = user.get("password") if isinstance(user, dict) else None
        good_email = isinstance(email, str) and email.casefold() == store.email.casefold()
        good_password = isinstance(given, str) and hmac.compare_digest(given.encode(), store.password)
        if not (good_email and good_password):
            raise ApiError(401, {"error": "Invalid Email or password."})
        return self._answer(store.tokens.issue(), "devise")

    async def _form_login(self, request: Request) -> Response:
        """FastAPI's ``OAuth2PasswordRequestForm`` (or, ``username``, a JSON model of the same
        fields): those fields only, FastAPI's error bodies."""
        store = self.store
        form: dict[str, str] = {}
        content_type = request.headers.get("content-type", "").lower()
        if store.readings.login_body == "form" and content_type.startswith("application/x-www-form-urlencoded"):
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        elif store.readings.login_body == "username" and "json" in content_type:
            try:
                parsed = orjson.loads(await request.body())
            except orjson.JSONDecodeError:
                parsed = None
            if isinstance(parsed, dict):
                form = {k: v for k, v in parsed.items() if isinstance(v, str)}
        missing = [{"type": "missing", "loc": ["body", name], "msg": "Field required", "input": None}
                   for name in ("username", "password") if not form.get(name)]  # fmt: skip
        grant = form.get("grant_type", "password")
        if grant != "password":
            missing.append({"type": "string_pattern_mismatch", "loc": ["body", "grant_type"],
                            "msg": "String should match pattern '^password$'", "input": grant})  # fmt: skip
        if missing:
            raise ApiError(422, {"detail": missing})
        email, given = form["username"], form["password"]
        good_email = email.casefold() == store.email.casefold()
        good_password = hmac.compare_digest(given.encode(), store.password)
        if not (good_email and good_password):
            raise ApiError(401, {"detail": "Incorrect username or password"})
        return respond(200, php_json({"access_token": store.tokens.issue(), "token_type": "bearer"}))

    def _answer(self, token: str, device_name: Any) -> Response:
        """The login answer carrying `token`, in the ``login_shape`` reading."""
        store = self.store
        shape = store.readings.login_shape
        if shape == "data":
            return respond(200, php_json({"data": {"token": token, "user": store.login_user}}))
        if shape == "plain":  # Sanctum's documented route: `return $user->createToken(...)->plainTextToken;`
            return Response(token, 200, media_type="text/html; charset=UTF-8",
                            headers={"Cache-Control": "no-cache, private"})  # fmt: skip
        if shape == "new_token":  # `['token' => $user->createToken(...)]`: Sanctum's NewAccessToken as JSON
            access = {"name": device_name, "abilities": ["*"], "expires_at": None,
                      "tokenable_id": store.login_user["id"], "tokenable_type": "App\\Models\\User",
                      "id": int(token.partition("|")[0])}  # fmt: skip
            return respond(201, php_json({"token": {"accessToken": access, "plainTextToken": token}}))
        if shape == "jwt":  # a Rails JWT sessions controller: `render json: { jwt: token, user: }, status: :created`
            return respond(201, php_json({"jwt": token, "user": store.login_user}))
        if shape == "prefixed":  # passport-jwt tutorials: `res.json({success: true, token: 'Bearer ' + token})`
            return respond(200, php_json({"success": True, "token": f"Bearer {token}"}))
        if shape == "user_token":  # the user with its token (`has_secure_token :auth_token`)
            return respond(200, php_json({"user": {**store.login_user, "auth_token": token}}))
        if shape == "header":  # devise-jwt: the token dispatched in the response's Authorization header
            answer = respond(200, php_json({"data": store.login_user, "message": "Logged in successfully."}))
            answer.headers["Authorization"] = f"Bearer {token}"
            return answer
        return respond(200, php_json({"status": "success", "token": token, "user": store.login_user}))

    async def logout(self, request: Request, token_id: int) -> Response:
        self.store.tokens.revoke(token_id)
        return respond(200, php_json({"message": "Token revoked successfully"}))
