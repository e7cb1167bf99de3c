"""A single photo."""

from __future__ import annotations

from mediabot.senders.single import SingleFileSender


class PhotoSender(SingleFileSender):
    """Sends one photo with the caption."""
