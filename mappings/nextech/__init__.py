"""Nextech (practice EHR): OAuth2 with rotating refresh tokens, patients by term, encounter CCDs."""

from gateway.contract import Vendor
from mappings.nextech.adapter import NextechAdapter
from mappings.nextech.client import oauth_app
from mappings.nextech.options import CREDENTIALS, NextechOptions

VENDOR = Vendor("nextech", NextechOptions, CREDENTIALS, NextechAdapter, oauth=oauth_app)
