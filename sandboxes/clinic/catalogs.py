"""What the synthetic clinic draws from: its staff, sites, names, addresses, drugs, problems and visits.

Codes are only filled where we are confident of them (RxNorm CUIs, SNOMED CT concept ids,
ICD-10-CM, CDT); everything else is text only (``None`` code).
"""

from __future__ import annotations

from sandboxes.clinic.model import Location, Provider

PROVIDERS = (
    Provider(1, "Maria", "Alvarez", "DDS"),
    Provider(2, "James", "Whitfield", "DMD"),
    Provider(3, "Priya", "Raman", "RDH"),
    Provider(4, "Kenji", "Watanabe", "MD"),
    Provider(5, "Laura", "Chen", "NP"),
)
DENTISTS = (1, 2)
HYGIENIST = 3
MEDICAL = (4, 5)

LOCATIONS = (
    Location(1, "Downtown Dental Center"),
    Location(2, "Riverside Family Dentistry"),
    Location(3, "Northgate Oral Health Clinic"),
)

FEMALE_FIRST_NAMES = (
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
    "Evelyn", "Abigail", "Emily", "Elizabeth", "Sofia", "Madison", "Ella", "Scarlett",
    "Grace", "Chloé", "Victoria", "Lily", "Penelope", "Layla", "Nora", "Camila", "Hannah",
    "Renée", "María", "Linda", "Patricia", "Barbara", "Susan", "Margaret", "Dorothy",
    "Aisha", "Priya", "Mei", "Fatima", "Ingrid", "Katherine", "Naomi", "Leah",
)  # fmt: skip
MALE_FIRST_NAMES = (
    "Liam", "Noah", "William", "James", "Oliver", "Benjamin", "Elijah", "Lucas", "Mason",
    "Logan", "Alexander", "Ethan", "Jacob", "Michael", "Daniel", "Henry", "Jackson",
    "Sebastian", "Matthew", "Samuel", "David", "Joseph", "Carter", "Owen", "Wyatt", "John",
    "Luke", "Robert", "Thomas", "Charles", "George", "Richard", "Kenneth", "Raj", "Wei",
    "Ahmed", "Björn", "François", "Mateo", "Diego", "Tomás", "Andrés",
)  # fmt: skip
NEUTRAL_FIRST_NAMES = (
    "Alex", "Jordan", "Taylor", "Casey", "Riley", "Morgan", "Quinn", "Avery", "Skyler",
    "Rowan", "Sage", "Emerson",
)  # fmt: skip
MIDDLE_NAMES = (
    "Marie", "Ann", "Lee", "James", "Michael", "Rose", "Grace", "Elizabeth", "Alan", "Ray",
    "Jean", "Lynn", "Louise", "Edward", "Joseph", "May", "Kai", "J.",
)  # fmt: skip
# No Smith*, Johnson or Garcia here: those groups are placed deliberately (see ``awkward.placed_patients``).
LAST_NAMES = (
    "Williams", "Brown", "Jones", "Miller", "Davis", "Rodriguez", "Martinez", "Hernandez",
    "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
    "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Kim", "Patel", "Chen", "Singh", "Okafor",
    "Kowalski", "Schmidt", "Rossi", "Yamamoto", "Haddad", "Fernández", "Peña", "Ibáñez",
    "Dubois", "Lefèvre", "Sørensen", "Öztürk", "Åberg", "O'Connor", "McAllister",
    "Van der Berg", "St. James",
)  # fmt: skip
NICKNAMES = {
    "William": "Bill", "Robert": "Bob", "Elizabeth": "Liz", "Margaret": "Peggy",
    "Richard": "Rick", "Alexander": "Alex", "Benjamin": "Ben", "Matthew": "Matt",
    "Samuel": "Sam", "Thomas": "Tom", "Joseph": "Joe", "Patricia": "Pat",
    "Victoria": "Tori", "Charles": "Charlie", "Daniel": "Dan", "Michael": "Mike",
    "Jacob": "Jake", "Abigail": "Abby", "Katherine": "Kate", "Kenneth": "Ken",
}  # fmt: skip
STREETS = (
    "Oak St", "Maple Ave", "Cedar Ln", "Elm St", "Pine Rd", "Washington Blvd",
    "Lakeview Dr", "Hillcrest Ct", "Sunset Ave", "Main St", "Halsted St", "Clark St",
)  # fmt: skip
CITIES = (
    ("Chicago", "IL", "60614"), ("Chicago", "IL", "60657"), ("Evanston", "IL", "60201"),
    ("Oak Park", "IL", "60302"), ("Naperville", "IL", "60540"), ("Skokie", "IL", "60076"),
    ("Hammond", "IN", "46320"),
)  # fmt: skip
# Fictional numbers: NNN-555-01XX is reserved for fiction in the NANP.
AREA_CODES = ("312", "773", "872", "847", "224", "630", "331", "708", "815", "219")

# (substance, SNOMED CT substance concept)
CODED_SUBSTANCES = (
    ("Penicillin", "764146007"),
    ("Latex", "111088007"),
    ("Sulfonamide", "387406002"),
    ("Codeine", "387494007"),
    ("Peanut", "762952008"),
    ("Amoxicillin", "372687004"),
    ("Aspirin", "387458008"),
    ("Ibuprofen", "387207008"),
)
FREE_TEXT_SUBSTANCES = (
    "Lidocaine with epinephrine",
    "Adhesive bandages",
    "Chlorhexidine mouth rinse",
    "Shellfish",
    "Bee stings",
    "Cats",
)
# (reaction, SNOMED CT finding concept)
REACTIONS: tuple[tuple[str, str | None], ...] = (
    ("Hives", "247472004"),
    ("Rash", "271807003"),
    ("Anaphylaxis", "39579001"),
    ("Itching", "418290006"),
    ("Nausea", "422587007"),
    ("Shortness of breath", "267036007"),
    ("Swelling of lips", None),
    ("Upset stomach", None),
)

# (name, rxnorm, strength, frequency, route, prn)
MedicationDef = tuple[str, str | None, str | None, str | None, str | None, bool]
LISINOPRIL: MedicationDef = (
    "Lisinopril 10 MG Oral Tablet",
    "314076",
    "10 mg",
    "once daily",
    "oral",
    False,
)
METFORMIN: MedicationDef = (
    "Metformin hydrochloride 500 MG Oral Tablet",
    "861007",
    "500 mg",
    "twice daily",
    "oral",
    False,
)
ATORVASTATIN: MedicationDef = (
    "Atorvastatin 20 MG Oral Tablet",
    "617310",
    "20 mg",
    "once daily at bedtime",
    "oral",
    False,
)
SERTRALINE: MedicationDef = (
    "Sertraline 50 MG Oral Tablet",
    "312940",
    "50 mg",
    "once daily",
    "oral",
    False,
)
LORAZEPAM: MedicationDef = (
    "Lorazepam 0.5 MG Oral Tablet",
    "197900",
    "0.5 mg",
    "twice daily",
    "oral",
    True,
)
IBUPROFEN: MedicationDef = (
    "Ibuprofen 600 MG Oral Tablet",
    "197806",
    "600 mg",
    "every 6 hours",
    "oral",
    True,
)
AMOXICILLIN: MedicationDef = (
    "Amoxicillin 500 MG Oral Capsule",
    "308191",
    "500 mg",
    "three times daily",
    "oral",
    False,
)
ALBUTEROL: MedicationDef = (
    "Albuterol inhaler",
    None,
    "90 mcg/actuation",
    "every 4 hours",
    "inhalation",
    True,
)
MULTIVITAMIN: MedicationDef = ("Multivitamin", None, "1 tablet", "once daily", "oral", False)
FISH_OIL: MedicationDef = ("Fish oil 1000 mg", None, "1000 mg", "once daily", "oral", False)
CHLORHEXIDINE: MedicationDef = (
    "Chlorhexidine gluconate 0.12% oral rinse",
    None,
    "15 mL",
    "twice daily",
    "oral",
    False,
)
HERBAL_TEA: MedicationDef = ("Herbal sleep tea", None, None, None, None, True)

# (name, SNOMED CT disorder concept, ICD-10-CM)
ProblemDef = tuple[str, str | None, str | None]
HYPERTENSION: ProblemDef = ("Hypertension", "38341003", "I10")
DIABETES: ProblemDef = ("Type 2 diabetes mellitus", "44054006", "E11.9")
HYPERLIPIDEMIA: ProblemDef = ("Hyperlipidemia", "55822004", "E78.5")
ASTHMA: ProblemDef = ("Asthma", "195967001", "J45.909")
ANXIETY: ProblemDef = ("Generalized anxiety disorder", "21897009", "F41.1")
GINGIVITIS: ProblemDef = ("Gingivitis", "66383009", "K05.10")
CARIES: ProblemDef = ("Dental caries", "80967001", "K02.9")
PERIODONTITIS: ProblemDef = ("Chronic periodontitis", None, "K05.30")
BRUXISM: ProblemDef = ("Bruxism", None, None)

# (type text, CDT code, provider pool)
VisitType = tuple[str, str | None, tuple[int, ...]]
VISIT_TYPES: tuple[VisitType, ...] = (
    ("Periodic oral evaluation", "D0120", DENTISTS),
    ("Comprehensive oral evaluation", "D0150", DENTISTS),
    ("Limited oral evaluation - problem focused", "D0140", DENTISTS),
    ("Prophylaxis - adult", "D1110", (HYGIENIST,)),
    ("Periodontal scaling and root planing", "D4341", (HYGIENIST, *DENTISTS)),
    ("Resin-based composite - one surface, posterior", "D2391", DENTISTS),
    ("Medical history review", None, MEDICAL),
)
CHILD_PROPHYLAXIS: VisitType = ("Prophylaxis - child", "D1120", (HYGIENIST,))
VISIT_REASONS = (
    "Routine recall",
    "Tooth pain, lower left",
    "Broken filling",
    "Bleeding gums",
    "Six-month cleaning",
    "Sensitivity to cold",
    "Follow-up after extraction",
)
