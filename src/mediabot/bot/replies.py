"""Answers several handlers give to the same use case outcomes: the user's requests in
flight in words, a refusal by the limits, a press that changed nothing."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.enums import ParseMode
from aiogram.types import CallbackQuery, Message

from mediabot.bot import texts
from mediabot.bot.courtesy import acknowledge
from mediabot.bot.usecases.choose import Refused
from mediabot.bot.usecases.in_flight import InFlight
from mediabot.bot.usecases.limits import LimitRefusal, StackFull
from mediabot.domain.enums import RequestState


def in_flight_lines(listed: Sequence[InFlight]) -> list[str]:
    """One numbered line per request in flight: its title and where it stands."""
    return [
        texts.in_flight_line(number, _listed(item), _state(item))
        for number, item in enumerate(listed, start=1)
    ]


def _listed(item: InFlight) -> str:
    title = texts.listed_title(item.file.title)
    return title if item.file.playlist_id is None else f"📃 {title}"


def _state(item: InFlight) -> str:
    file = item.file
    if file.state is RequestState.QUEUED:
        return texts.state_queued(item.position or 0)
    if file.state is RequestState.DOWNLOADING:
        return texts.state_downloading(file.progress_percent)
    if file.state is RequestState.UPLOADING:
        return texts.state_uploading(len(file.parts) + 1, file.parts_total)
    return texts.state_starting()


async def refuse_by_limits(callback: CallbackQuery, refusal: LimitRefusal) -> None:
    """Answer a press the limits refused: a full stack with the list of what is in flight,
    the hourly limit with when the next press may go."""
    if isinstance(refusal, StackFull):
        await acknowledge(callback, texts.stack_full_alert(refusal.limit))
        if isinstance(callback.message, Message):
            text = texts.stack_full(refusal.limit, in_flight_lines(refusal.in_flight))
            await callback.message.answer(text, parse_mode=ParseMode.HTML)
        return
    text = texts.hourly_limit(refusal.limit, refusal.minutes, f"{refusal.retry_at:%H:%M}")
    await acknowledge(callback, text, alert=True)


def refused_text(refused: Refused) -> str:
    """Why a press changed nothing, in words."""
    return texts.not_available() if refused is Refused.NOT_AVAILABLE else texts.already_chosen()
