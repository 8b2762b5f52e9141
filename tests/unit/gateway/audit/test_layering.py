"""The audit package reads what the token endpoint and the routes leave in the request scope
under names of its own dependency-free module (gateway.audit.scope_keys), so that it imports
nothing of the token server (jwt, httpx) and no package cycle audit → auth → rest → audit forms."""

from __future__ import annotations

import ast
from pathlib import Path

import gateway

GATEWAY = Path(gateway.__file__).parent


def _imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_audit_package_imports_nothing_of_the_token_server_or_the_routes() -> None:
    for module in sorted((GATEWAY / "audit").glob("*.py")):
        imported = _imported(module)
        assert not {"gateway.auth.server", "gateway.auth.gate", "gateway.rest.routes", "jwt", "httpx"} & imported, (
            module
        )


def test_the_scope_keys_module_depends_on_nothing() -> None:
    assert _imported(GATEWAY / "audit" / "scope_keys.py") <= {"__future__"}
