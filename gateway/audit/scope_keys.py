"""The names under which a request's handlers leave what its audit line needs (keys of the ASGI
request scope), and the token endpoint's path, which the audit records as an authentication.

Dependency-free, so that both sides import it: the audit middleware (gateway.audit) reads them,
and the token endpoint (gateway.auth.server), the FHIR routes (gateway.rest.routes) and the
patient record (gateway.audit.patients) set them, without the audit importing the token server
(jwt, httpx) or the routes importing the audit's event builder.
"""

from __future__ import annotations

# The token endpoint (gateway.auth.server, routed by gateway.app): each request there is an
# authentication, audited as one (gateway.audit.events.authentication_event).
TOKEN_PATH = "/auth/token"
# The registered client a token request's assertion claims to be (set before it is proven: a
# failure is that client's failed login).
CLAIMED_CLIENT = "fhir.audit.client"
# The client whose valid token was refused for the tenant (gateway.auth.gate TenantRefused), for
# the line's agent; the request's caller ("fhir.caller") is never set to it.
REFUSED_CALLER = "fhir.audit.refused_caller"
# The patients a handler resolved the request to (gateway.audit.patients).
AUDIT_PATIENT = "fhir.audit.patient"
