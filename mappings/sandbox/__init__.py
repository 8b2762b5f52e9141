"""The synthetic clinic every vendor sandbox renders (see ``mappings.sandbox.clinic``)."""

from mappings.sandbox.clinic import AWKWARD, AWKWARD_CASES, Clinic, build_clinic

__all__ = ["AWKWARD", "AWKWARD_CASES", "Clinic", "build_clinic"]
