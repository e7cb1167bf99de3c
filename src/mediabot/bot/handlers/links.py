"""A message with links (or `/dl <link>`), a list of links sent as a `.txt` file, and a
message edited to correct its links: the links are asked to be looked up.

The lookup lane's worker answers each link with its buttons, a playlist's offer or a plain
reason (`worker/lookups.py`); the bot records the request and publishes its job, and says
itself only what needs no lookup: that the message had more links than it takes, that a
clip's range cannot be cut (the whole video is still offered), that a file is no list (in
a group only when the file replies to the bot: others' text files are not for it).
An edited message is asked for again only when its links differ from what it was last
asked for (`AskLookup.for_edited`).
"""

from __future__ import annotations

import io
import logging
import uuid

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message, Update

from mediabot.bot import clip_texts, list_texts, texts
from mediabot.bot.filters import ForOtherBot, RepliesToMe, is_private
from mediabot.bot.links import MAX_LINKS, FoundLinks, HasLinks
from mediabot.bot.offers import playlist_offer_text
from mediabot.bot.usecases.link_lists import (
    LIST_MAX_BYTES,
    ListAsked,
    ListProblem,
    ReadLinkList,
    is_link_list,
)
from mediabot.bot.usecases.lookups import AskLookup, LinksPlace
from mediabot.domain.clips import ClipRangeError
from mediabot.i18n import current_locale

logger = logging.getLogger(__name__)

router = Router(name="links")

__all__ = ["MAX_LINKS", "playlist_offer_text", "router"]

_LIST_PROBLEMS = {
    ListProblem.TOO_BIG: lambda: list_texts.list_too_big(LIST_MAX_BYTES // 1024),
    ListProblem.NO_LINKS: list_texts.list_without_links,
    ListProblem.UNREADABLE: list_texts.list_unreadable,
}


def _is_link_list(message: Message) -> bool:
    document = message.document
    return document is not None and is_link_list(document.file_name, document.mime_type)


@router.message(HasLinks(MAX_LINKS), ~ForOtherBot())
@router.edited_message(HasLinks(MAX_LINKS), ~ForOtherBot())
async def offer_choices(
    message: Message,
    links: FoundLinks,
    lookups: AskLookup,
    chat_row_id: uuid.UUID,
    user_row_id: uuid.UUID,
    event_update: Update,
) -> None:
    """Ask for the message's links to be looked up (an edited message's when they
    changed); each is answered by a worker."""
    place = _place(message, chat_row_id, user_row_id, event_update)
    edited = message.edit_date is not None
    if await lookups.for_message(place, links.urls, links.clips, edited=edited) is not None:
        await _say_what_was_left(message, links.truncated, links.clip_refusal)


@router.message(_is_link_list, ~ForOtherBot())
async def read_link_list(
    message: Message,
    bot: Bot,
    lookups: AskLookup,
    chat_row_id: uuid.UUID,
    user_row_id: uuid.UUID,
    event_update: Update,
) -> None:
    """A `.txt` file: its links are asked for like a message's."""
    document = message.document
    assert document is not None

    async def download() -> bytes:
        into = io.BytesIO()
        await bot.download(document.file_id, destination=into)
        return into.getvalue()

    read = ReadLinkList(lookups, MAX_LINKS)
    place = _place(message, chat_row_id, user_row_id, event_update)
    outcome = await read(place, document.file_size, download)
    if isinstance(outcome, ListAsked):
        await _say_what_was_left(message, outcome.truncated, outcome.clip_refusal)
    elif is_private(message) or await RepliesToMe()(message, bot):
        # In a group a text file is someone's notes unless it holds links or answers the
        # bot: its problems are said only then.
        await _reply(message, _LIST_PROBLEMS[outcome]())


def _place(
    message: Message, chat_row_id: uuid.UUID, user_row_id: uuid.UUID, update: Update
) -> LinksPlace:
    return LinksPlace(
        chat_row_id=chat_row_id,
        user_row_id=user_row_id,
        telegram_chat_id=message.chat.id,
        message_id=message.message_id,
        thread_id=message.message_thread_id if message.is_topic_message else None,
        in_group=not is_private(message),
        locale=current_locale(),
        update_id=update.update_id,
    )


async def _say_what_was_left(
    message: Message, truncated: bool, clip_refusal: ClipRangeError | None
) -> None:
    """Say that links were left out, and why a clip's range is refused."""
    if clip_refusal is not None:
        await _reply(message, clip_texts.clip_refused(clip_refusal))
    if truncated:
        await _reply(message, texts.too_many_links(MAX_LINKS))


async def _reply(message: Message, text: str) -> None:
    try:
        await message.reply(text)
    except TelegramAPIError as exc:
        logger.info("chat %s: replying failed (%s)", message.chat.id, exc.message)
