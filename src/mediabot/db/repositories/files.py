"""Every query on `files` rows on one object, for callers that need several jobs' worth."""

from __future__ import annotations

from mediabot.db.repositories.claims import ClaimRepository
from mediabot.db.repositories.deliveries import DeliveryRepository
from mediabot.db.repositories.leases import LeaseRepository
from mediabot.db.repositories.requests import RequestRepository
from mediabot.db.repositories.stack import StackRepository


class RequestRows(
    RequestRepository, ClaimRepository, LeaseRepository, DeliveryRepository, StackRepository
):
    """Requests for media (`files` rows) and their delivered parts: the union of the
    repositories that each serve one job on them, over one session."""
