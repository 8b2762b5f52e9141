"""Whether the shared state may drop what the gateway keeps in it.

Under memory pressure a Redis with an evicting `maxmemory-policy` drops keys: a renewal lock
(two workers then present one rotating refresh token, which a strict authorization server
takes for a replay and answers by revoking the grant), a rate-limit bucket (the vendor's limit
is then exceeded), an OAuth grant. Managed services often default to `volatile-lru`, which
drops any key with an expiry: locks and buckets have one. The gateway keeps working, so this
is said, not refused: in the log at start-up and on /readyz.
"""

from __future__ import annotations

from gateway.shared.state import SharedState, SharedStateUnavailable

SAFE = "noeviction"


async def eviction_warning(shared: SharedState) -> str | None:
    """What to tell the operator about `shared`'s eviction policy; None if it is safe, not
    known, or the state cannot be reached now (readiness says that)."""
    try:
        policy = await shared.eviction_policy()
    except SharedStateUnavailable:
        return None
    if policy is None or policy == SAFE:
        return None
    return (
        f"the shared state's maxmemory-policy is {policy}: under memory pressure it drops the gateway's "
        f"locks, rate-limit buckets and tokens (a grant can then be revoked); set maxmemory-policy {SAFE}"
    )
