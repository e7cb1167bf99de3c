"""/stats, /ban and /unban: for `ADMIN_IDS` only; for anyone else they do nothing visible."""

from __future__ import annotations

import html
import logging

from aiogram import Router
from aiogram.enums import ParseMode
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from mediabot.bot import texts
from mediabot.bot.filters import IsAdmin
from mediabot.bot.usecases import admin
from mediabot.bot.usecases.ports import Ports
from mediabot.db.stats import Stats, TopMedia, TopUser
from mediabot.telegram.texts import plain

logger = logging.getLogger(__name__)

router = Router(name="admin")

_NAME_CHARS = 40


@router.message(Command("stats"), IsAdmin())
async def show_stats(message: Message, ports: Ports) -> None:
    """Answer an admin with the statistics, counted by the database."""
    stats = await admin.stats(ports)
    await message.answer(render(stats), parse_mode=ParseMode.HTML, disable_web_page_preview=True)


@router.message(Command("ban", "unban"), IsAdmin())
async def ban(message: Message, command: CommandObject, ports: Ports) -> None:
    """Ban or unban a user by Telegram id."""
    banned = command.command == "ban"
    argument = (command.args or "").strip()
    if not argument.lstrip("-").isdigit() or not -(2**63) <= int(argument) < 2**63:
        await message.answer(texts.ban_usage(command.command))  # Telegram ids are 64-bit
        return
    user_id = int(argument)
    if not (await admin.ban(ports, user_id, banned)).found:
        await message.answer(texts.unknown_user(user_id))
        return
    logger.info("admin %s: user %s banned=%s", message.chat.id, user_id, banned)
    await message.answer(texts.ban_done(user_id, banned))


@router.message(Command("stats", "ban", "unban"))
async def ignore_admin_command(message: Message) -> None:
    """Anyone else's admin command: nothing visible happens."""


def render(stats: Stats) -> str:
    """The statistics as compact HTML."""
    median = stats.median_press_to_file_s
    return texts.stats_report(
        users=stats.users,
        active_day=stats.active_day,
        active_week=stats.active_week,
        providers=_counts(stats.by_provider),
        states=_counts(stats.by_state),
        delivered=stats.delivered,
        hit_rate=round(stats.cache_hit_rate * 100),
        bytes=_size(stats.bytes_delivered),
        median="—" if median is None else _duration(median),
        top_users="\n".join(_user_line(n, user) for n, user in enumerate(stats.top_users, 1))
        or "—",
        top_media="\n".join(_media_line(n, media) for n, media in enumerate(stats.top_media, 1))
        or "—",
    )


def _counts(counts: dict[str, int]) -> str:
    return " · ".join(f"{html.escape(name)} {count}" for name, count in counts.items()) or "—"


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s"


def _user_line(number: int, user: TopUser) -> str:
    name = f"@{user.username}" if user.username else (user.first_name or "?")
    name = html.escape(plain(name, _NAME_CHARS))
    groups = f", {user.groups} groups" if user.groups else ""
    return f"{number}. {name} (<code>{user.telegram_id}</code>) — {user.requests}{groups}"


def _media_line(number: int, media: TopMedia) -> str:
    title = html.escape(plain(media.title or media.media_key, _NAME_CHARS))
    return (
        f"{number}. {title} ({html.escape(media.provider)}) — {media.requests}, "
        f"{media.people} people"
    )
