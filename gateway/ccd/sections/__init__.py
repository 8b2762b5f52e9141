"""One module per CCD section: FHIR resources in, a CDA `section` out."""
