"""Nextvisit (clinical documentation): patients with free-text allergies, latest medications, encounters."""

from gateway.contract import Vendor
from mappings.nextvisit.adapter import NextvisitAdapter
from mappings.nextvisit.options import CREDENTIALS, NextvisitOptions

VENDOR = Vendor("nextvisit", NextvisitOptions, CREDENTIALS, NextvisitAdapter)
