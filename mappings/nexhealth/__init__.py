"""NexHealth Synchronizer: patients (OR-semantics search, duplicate-guarded create), appointments."""

from gateway.contract import Vendor
from mappings.nexhealth.adapter import NexHealthAdapter
from mappings.nexhealth.options import CREDENTIALS, NexHealthOptions

VENDOR = Vendor("nexhealth", NexHealthOptions, CREDENTIALS, NexHealthAdapter)
