# The gateway as a container: the service and its vendors, without the simulators (those are
# for the demo and the tests, installed from a checkout with `pip install -e ./sandboxes`).
# Mount a config and pass secrets as environment variables:
#   docker run -p 8080:8080 -v $PWD/gateway.toml:/config/gateway.toml:ro \
#     -e FHIR_GATEWAY_CONFIG=/config/gateway.toml -e DENTALPMS_API_TOKEN=... fhir-gateway
# Without a config it stops at once, saying that the demo's sandbox tenants need the simulators.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
COPY mappings ./mappings
RUN pip install . && useradd --system --uid 10001 gateway

USER gateway
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
CMD ["fhir-gateway", "serve", "--host", "0.0.0.0", "--port", "8080"]
