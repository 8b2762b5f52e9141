"""Connecting a tenant to an OAuth2 vendor: the authorization-code flow, once per tenant.

A one-shot listener on loopback receives the redirect (RFC 8252: native apps use a loopback
redirect URI on any port); the code is exchanged and the refresh token stored. The CLI prints
the authorize URL for the operator (or takes the code pasted in); the demo approves through
its sandbox with the very same flow.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.contract import OAuthApp
from gateway.errors import FHIRError, UpstreamSecurity
from gateway.sandbox_host import serve_in_thread
from gateway.upstream.grants import GrantStore
from gateway.upstream.oauth import FormPost, exchange_code, grant_store
from gateway.upstream.token_store import Grant, TokenStore

CALLBACK_PATH = "/callback"


class ConnectError(Exception):
    """The connection could not be made; the message says why (no secrets in it)."""


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) per RFC 7636: a stolen code is useless without the verifier."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_url(app: OAuthApp, redirect_uri: str, state: str, challenge: str) -> str:
    params = {
        "client_id": app.client_id,
        "response_type": "code",
        **dict.fromkeys(app.redirect_params, redirect_uri),
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if app.resource:
        params["resource"] = app.resource
    return f"{app.authorize_url}?{urlencode(params)}"


def code_from(pasted: str, state: str) -> str:
    """The code from what an operator pasted: the whole redirect URL, or just the code."""
    text = pasted.strip()
    if not text:
        raise ConnectError("nothing was pasted: paste the redirected URL, or the code it carries")
    if "?" not in text:
        return text  # a bare code, typed by the operator from their own browser
    query = parse_qs(urlparse(text).query)
    if query.get("error"):
        raise ConnectError(f"the vendor refused: {query['error'][0]}")
    # Another attempt's state is refused; none at all is taken, as a bare code is: the operator
    # pasted what their own browser was sent to (a vendor may not echo `state`, see `connect`).
    if query.get("state", [state])[0] != state:
        raise ConnectError("the pasted redirect does not belong to this attempt (its state is another's)")
    if not query.get("code"):
        raise ConnectError("no authorization code found in what was pasted")
    return query["code"][0]


async def connect(
    tenant: str,
    app: OAuthApp,
    store: TokenStore | GrantStore,
    post: FormPost,
    approve: Callable[[str], Awaitable[None]],
    *,
    paste: Callable[[], Awaitable[str]] | None = None,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Run the flow: `approve(url)` sends the operator (or the sandbox) to the authorize URL;
    the code arrives at the loopback listener, or through `paste`. Returns the token answer
    (its refresh token already stored)."""
    loop = asyncio.get_running_loop()
    arrived: asyncio.Future[str] = loop.create_future()
    state = secrets.token_urlsafe(16)
    verifier, challenge = pkce_pair()

    async def callback(request: Request) -> Response:
        query = request.query_params
        # A redirect without `state` (a vendor written from the docs' authorize table, which lists
        # none, may not echo it) cannot be told from a forged one here: PKCE stands for `state`
        # only where the vendor enforces it (RFC 9700 section 2.1.1), which the gateway cannot
        # know. The operator is asked to paste it, an act of their own, as a bare code is.
        if "state" not in query and (query.get("code") or query.get("error")):
            return PlainTextResponse(
                "This redirect carries no state to tie it to this attempt. If you started this "
                "connection, paste this page's address into the terminal.",
                status_code=400,
            )
        if query.get("state") != state:
            return PlainTextResponse("This authorization belongs to another attempt.", status_code=400)
        if query.get("error") or not query.get("code"):
            message = query.get("error", "no code")
            loop.call_soon_threadsafe(_settle, arrived, ConnectError(f"the vendor refused: {message}"))
            return PlainTextResponse("Authorization failed; see the terminal.", status_code=400)
        loop.call_soon_threadsafe(_settle, arrived, query["code"])
        return PlainTextResponse("The gateway is connected. You can close this window.")

    listener = serve_in_thread(Starlette(routes=[Route(CALLBACK_PATH, callback)]), name=f"connect-{tenant}")
    try:
        redirect_uri = f"{listener.url}{CALLBACK_PATH}"
        await approve(authorize_url(app, redirect_uri, state, challenge))
        waiters: list[asyncio.Future[str]] = [arrived]
        if paste is not None:
            waiters.append(asyncio.ensure_future(_pasted(paste, state)))
        done, pending = await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        if not done:
            raise ConnectError(f"no authorization arrived within {timeout:.0f} s")
        code = done.pop().result()
        try:
            grant, body = await exchange_code(app, post, code, redirect_uri, verifier)
        except UpstreamSecurity as exc:
            raise ConnectError(exc.diagnostics) from None
        except FHIRError as exc:  # the token endpoint unreachable, failing or too slow
            raise ConnectError(f"the code could not be exchanged: {exc.diagnostics}") from None
        grants = grant_store(store)
        await grants.save(tenant, await _above_the_current_line(grants, tenant, grant))
        return body
    finally:
        listener.stop()


async def _above_the_current_line(grants: GrantStore, tenant: str, grant: Grant) -> Grant:
    """`grant`, its line begun after the one it replaces even where the clock of the host that
    began that one was ahead (gateway.upstream.token_store.Grant.rank): else every host whose
    file holds the old line would rank it above the reconnect, and present it."""
    try:
        current = await grants.load(tenant)
    except FHIRError:  # unreadable: the new grant replaces it
        return grant
    if current is None or current.connected_at < grant.connected_at:
        return grant
    return dataclasses.replace(grant, connected_at=current.connected_at + 1.0)


def _settle(future: asyncio.Future[str], outcome: str | Exception) -> None:
    if future.done():
        return
    if isinstance(outcome, Exception):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)


async def _pasted(paste: Callable[[], Awaitable[str]], state: str) -> str:
    text = await paste()
    while not text.strip():  # Enter pressed alone: the redirect may still arrive; ask again
        text = await paste()
    return code_from(text, state)
