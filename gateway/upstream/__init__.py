"""The shared toolkit of vendor clients: everything about talking to a vendor that is not
the vendor's own (its URLs, headers, auth request and error bodies stay in mappings/<vendor>/client.py).

- `http`: `UpstreamClient.from_config(config)`, the keep-alive pool to a tenant's vendor.
- `tokens`: `TokenCache`, one renewal at a time, remembered failures, `send_with_renewal`.
- `oauth`: OAuth2 refresh-token sessions (a `TokenCache` with the `UntilReconnected` policy).
- `ratelimit`: staying under a vendor's request limits.
- `errors`: vendor HTTP failures as gateway errors.
- `token_store`: where OAuth refresh tokens are kept.
"""
