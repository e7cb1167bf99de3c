"""The repositories of `files` rows: one job each, and all of them on `RequestRows`."""

from __future__ import annotations

import inspect
from itertools import combinations

from mediabot.db.repositories import (
    ClaimRepository,
    DeliveryRepository,
    LeaseRepository,
    RequestRepository,
    RequestRows,
    StackRepository,
)

JOBS = (RequestRepository, ClaimRepository, LeaseRepository, DeliveryRepository, StackRepository)


def _own_methods(cls: type) -> set[str]:
    """The methods `cls` defines itself (static ones included), not those it inherits."""
    return {
        name
        for name, value in vars(cls).items()
        if inspect.isfunction(value) or isinstance(value, staticmethod)
    }


def test_no_two_jobs_define_the_same_method() -> None:
    """A name defined by two jobs would be shadowed on `RequestRows` by whichever
    comes first in its bases."""
    for first, second in combinations(JOBS, 2):
        assert not _own_methods(first) & _own_methods(second), (first, second)


def test_file_repository_offers_every_jobs_methods_and_adds_none() -> None:
    offered = {name for name in dir(RequestRows) if not name.startswith("__")}
    jobs = set().union(*(_own_methods(job) for job in JOBS))
    assert jobs <= offered
    assert not _own_methods(RequestRows)
