"""Shared code tables (FHIR vital-signs and US Core 6.1 codes and units), as data: every vendor's
mappers read them from here."""

from __future__ import annotations

from dataclasses import dataclass

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
MARITAL_STATUS = "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus"
BCP47 = "urn:ietf:bcp:47"

US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
PROFILE_PATIENT = f"{US_CORE}/us-core-patient"
PROFILE_ALLERGY = f"{US_CORE}/us-core-allergyintolerance"

# Administrative gender (http://hl7.org/fhir/administrative-gender) from vendor spellings.
GENDER = {
    "male": "male",
    "m": "male",
    "female": "female",
    "f": "female",
    "non_binary": "other",
    "other": "other",
    "unknown": "unknown",
    "prefer_not_to_say": "unknown",
}

MEDICATION_STATUS = {
    "active": "active",
    "discontinued": "stopped",
    "stopped": "stopped",
    "on_hold": "on-hold",
    "completed": "completed",
}

MARITAL = {
    "married": ("M", "Married"),
    "divorced": ("D", "Divorced"),
    "single": ("S", "Never Married"),
    "widowed": ("W", "Widowed"),
    "separated": ("L", "Legally Separated"),
    "domestic_partner": ("T", "Domestic partner"),
}

# "No known allergy" spellings → SNOMED situation concepts (not an allergy *to* "NKDA").
NO_KNOWN_ALLERGY = (SNOMED, "716186003", "No known allergy (situation)")
NO_KNOWN_DRUG_ALLERGY = (SNOMED, "409137002", "No known drug allergy (situation)")
NO_KNOWN_ALLERGY_SPELLINGS = {
    "nka": NO_KNOWN_ALLERGY,
    "no known allergies": NO_KNOWN_ALLERGY,
    "no known allergy": NO_KNOWN_ALLERGY,
    "none": NO_KNOWN_ALLERGY,
    "none known": NO_KNOWN_ALLERGY,
    "nkda": NO_KNOWN_DRUG_ALLERGY,
    "no known drug allergies": NO_KNOWN_DRUG_ALLERGY,
    "no known drug allergy": NO_KNOWN_DRUG_ALLERGY,
}


def no_known_allergy(text: str) -> tuple[str, str, str] | None:
    return NO_KNOWN_ALLERGY_SPELLINGS.get(" ".join(text.lower().replace(".", "").split()))


@dataclass(frozen=True)
class VitalSign:
    """One US Core vital sign: its id suffix, LOINC code(s), UCUM unit and profile."""

    key: str
    loinc: str
    display: str
    unit: str  # UCUM code, used as the human unit too
    profile: str
    extra_loinc: tuple[tuple[str, str], ...] = ()  # further codings the profile requires


BLOOD_PRESSURE = VitalSign(
    "bp", "85354-9", "Blood pressure panel with all children optional", "mm[Hg]", f"{US_CORE}/us-core-blood-pressure"
)
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")

VITAL_SIGNS = {
    v.key: v
    for v in (
        BLOOD_PRESSURE,
        VitalSign("hr", "8867-4", "Heart rate", "/min", f"{US_CORE}/us-core-heart-rate"),
        VitalSign("rr", "9279-1", "Respiratory rate", "/min", f"{US_CORE}/us-core-respiratory-rate"),
        VitalSign(
            "spo2",
            "59408-5",
            "Oxygen saturation in Arterial blood by Pulse oximetry",
            "%",
            f"{US_CORE}/us-core-pulse-oximetry",
            (("2708-6", "Oxygen saturation in Arterial blood"),),
        ),
        VitalSign("temp", "8310-5", "Body temperature", "[degF]", f"{US_CORE}/us-core-body-temperature"),
        VitalSign("height", "8302-2", "Body height", "[in_i]", f"{US_CORE}/us-core-body-height"),
        VitalSign("weight", "29463-7", "Body weight", "[lb_av]", f"{US_CORE}/us-core-body-weight"),
        VitalSign("bmi", "39156-5", "Body mass index (BMI) [Ratio]", "kg/m2", f"{US_CORE}/us-core-bmi"),
        VitalSign(
            "bmip",
            "59576-9",
            "Body mass index (BMI) [Percentile] Per age and sex",
            "%",
            f"{US_CORE}/pediatric-bmi-for-age",
        ),
    )
}

VITAL_SIGNS_CATEGORY = {
    "coding": [{"system": OBSERVATION_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}],
    "text": "Vital Signs",
}
