"""C-CDA R2.1 Continuity of Care Documents rendered from FHIR resources."""
