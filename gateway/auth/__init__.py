"""Authorization: SMART on FHIR scopes, access-token checks and the access decision.

`scopes` and `decision` are pure (no I/O): what a token's scopes permit is decided from the
scopes and the request alone, so the rules can be tested exhaustively.
"""
