"""Audit controls (HIPAA 164.312(b)): one FHIR AuditEvent-shaped JSON line per FHIR request,
allowed or refused, to a configured sink; a request that cannot be audited is not served."""
