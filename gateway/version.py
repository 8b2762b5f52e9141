"""The gateway's version, as CapabilityStatement.software and generated documents name it."""

SOFTWARE_VERSION = "0.1.0"
