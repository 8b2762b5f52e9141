"""State shared by the workers and replicas of one gateway (gateway.shared.state)."""

from gateway.shared.state import LocalState, SharedState, SharedStateUnavailable

__all__ = ["LocalState", "SharedState", "SharedStateUnavailable", "shared_state"]


def shared_state(url: str | None, prefix: str = "fhir-gateway:") -> SharedState:
    """The state for `server.shared_state`: in this process without a URL, else on Redis, its
    keys under `prefix` (`server.shared_state_prefix`)."""
    if not url:
        return LocalState()
    from gateway.shared.redis_state import RedisState

    return RedisState(url, prefix=prefix)
