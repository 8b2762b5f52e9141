"""Vendor simulators for the demo and the tests: not part of the gateway's runtime.

Each vendor folder serves that vendor's API over HTTP, faithful to its docs, rendering the one
deterministic synthetic clinic (`sandboxes.clinic`). `registry.SANDBOXES` is what the
`fhir_gateway.sandboxes` entry point hands the gateway for tenants with `sandbox = true`.
"""
