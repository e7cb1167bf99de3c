"""The worker's snapshots of `files` rows, and the metrics of a request's ending."""

from __future__ import annotations

from datetime import UTC, datetime

from mediabot import metrics
from mediabot.db.models import RequestRow, User
from mediabot.domain.enums import RequestState
from mediabot.i18n import DEFAULT_LOCALE, locale_for
from mediabot.senders.cached import CachedPart
from mediabot.worker.request import CachedDelivery, PlaylistPlace, Request


def count_ending(file: RequestRow) -> None:
    """A request reached its final state: the metrics of requests and press-to-file."""
    provider = metrics.provider_of(file.media_key)
    kind = file.kind.value if file.kind is not None else "none"
    metrics.REQUESTS.labels(provider, kind, file.state.value).inc()
    if file.state is RequestState.DELIVERED and file.chosen_at is not None:
        elapsed = (datetime.now(UTC) - file.chosen_at).total_seconds()
        metrics.PRESS_TO_FILE_SECONDS.labels(provider).observe(max(0.0, elapsed))


def request_of(file: RequestRow) -> Request | None:
    """The snapshot of a row loaded with its chat and parts; None without a choice."""
    if file.kind is None:
        return None
    return Request(
        id=file.id,
        chat_id=file.chat_id,
        chat_telegram_id=file.chat.telegram_id,
        chat_blocked=file.chat.blocked_at is not None,
        kind=file.kind,
        resolution=file.resolution,
        media_key=file.media_key,
        url=file.request_url,
        title=file.title,
        offer=file.offer,
        status_message_id=file.status_message_id,
        delivered_parts=len(file.parts),
        reply_to_message_id=file.link_message_id,
        message_thread_id=file.message_thread_id,
        locale=_locale_of(file.requested_by),
        attempts=max(file.attempts, 1),
        playlist=_place_of(file),
        inline_message_id=file.inline_message_id,
        form=file.form,
        chosen_by_default=file.chosen_by_default,
    )


def _place_of(file: RequestRow) -> PlaylistPlace | None:
    if file.playlist is None or file.playlist_position is None:
        return None
    return PlaylistPlace(file.playlist.id, file.playlist_position, len(file.playlist.entries))


def _locale_of(user: User | None) -> str:
    return locale_for(user.language_code, user.language) if user is not None else DEFAULT_LOCALE


def cached_of(file: RequestRow) -> CachedDelivery:
    return CachedDelivery(
        id=file.id,
        parts=tuple(
            CachedPart(
                kind=part.kind,
                file_id=part.telegram_file_id,
                file_unique_id=part.telegram_file_unique_id,
                size_bytes=part.size_bytes,
                start_s=part.start_s,
                end_s=part.end_s,
            )
            for part in file.parts
        ),
        size_bytes=file.size_bytes,
        title=file.title,
    )
