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
``user_token`` ``{"user": {..., "auth_token"}}`` (the user with its ``has_secure_token``).
Under the ``login_body="user"`` reading the login reads its credentials as Devise does,
``{"user": {"email", "password"}}`` (``params[:user]``), and answers anything else 401
``{"error": "Invalid Email or password."}``.
Logout revokes the bearer token: 200 ``{"message": "Token revoked successfully"}``.
"""

from __future__ import annotations

import hmac
import re
from typing import Any

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
