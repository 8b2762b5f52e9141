"""Dental PMS (practice management): patients, allergies, medications, vital signs, problems."""

from gateway.contract import Vendor
from mappings.dentalpms.adapter import DentalPmsAdapter
from mappings.dentalpms.options import CREDENTIALS, DentalPmsOptions

VENDOR = Vendor("dentalpms", DentalPmsOptions, CREDENTIALS, DentalPmsAdapter)
