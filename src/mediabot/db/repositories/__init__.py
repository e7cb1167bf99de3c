"""Repositories, one module per aggregate. Each takes an `AsyncSession` and never
commits: the caller owns the transaction.

`files` rows (a user's request for a file) are served by one repository per job:
`RequestRepository` (a request's states), `ClaimRepository` (fair turns),
`LeaseRepository` (leases and recovery), `DeliveryRepository` (the cache of Telegram file
ids) and `StackRepository` (a user's stack and history). `RequestRows` offers them all
on one object.
"""

from mediabot.db.repositories.chats import ChatRepository, TelegramChat
from mediabot.db.repositories.claims import ClaimRepository
from mediabot.db.repositories.deliveries import DeliveryRepository
from mediabot.db.repositories.files import RequestRows
from mediabot.db.repositories.leases import LeaseRepository
from mediabot.db.repositories.playlists import PlaylistRepository
from mediabot.db.repositories.providers import ProviderRepository
from mediabot.db.repositories.requests import RequestRepository
from mediabot.db.repositories.stack import StackRepository
from mediabot.db.repositories.users import TelegramUser, UserRepository

__all__ = [
    "ChatRepository",
    "ClaimRepository",
    "DeliveryRepository",
    "LeaseRepository",
    "PlaylistRepository",
    "ProviderRepository",
    "RequestRepository",
    "RequestRows",
    "StackRepository",
    "TelegramChat",
    "TelegramUser",
    "UserRepository",
]
