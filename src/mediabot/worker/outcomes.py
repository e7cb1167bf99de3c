"""Every way a delivery can end, settled: a retry, a failure told, a hand-back, or the chat ended.

A failure the user can act on (`DownloadError`, a refusal of Telegram's) is told in the
status and recorded; a passing one (the site or Telegram away for a while) releases the
request and asks the queue for a retry (`RetryJobError`); a chat Telegram no longer lets the
bot write to is marked blocked and its pending requests end without a word. The database
going away is left to the pipeline: nothing can be released without it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from mediabot.db.outages import database_unavailable
from mediabot.downloaders.errors import DownloadError, SitePushBackError
from mediabot.queue.base import RetryJobError
from mediabot.telegram.alerts import AdminAlerts
from mediabot.telegram.errors import chat_unreachable, describe
from mediabot.telegram.flood import flood_hand_back, flood_observer
from mediabot.worker import texts
from mediabot.worker.hand_backs import hand_back_flooded
from mediabot.worker.lanes import LaneChangeError
from mediabot.worker.steps.context import JobContext, LeftOurHandsError
from mediabot.worker.steps.give_up import end_chat, fail

logger = logging.getLogger(__name__)

WarnAdmins = Callable[[SitePushBackError], Awaitable[None]]


def admins_warned_by(alerts: AdminAlerts | None, bot: Bot) -> WarnAdmins | None:
    """How a site's refusal of the bot reaches the admins (None: it is not reported)."""
    if alerts is None:
        return None

    async def warn(error: SitePushBackError) -> None:
        await alerts.warn_push_back(bot, error)

    return warn


"""Tells the bot's admins that a site refuses the bot (what to configure)."""


async def deliver_to_an_outcome(
    job: JobContext,
    deliver: Callable[[], Awaitable[None]],
    *,
    flood_hand_back_s: float,
    warn_admins: WarnAdmins | None,
) -> None:
    """Run `deliver` and settle how it ended (see the module).

    A flood wait up to `flood_hand_back_s` is sat out inside the send (the lease renewed by
    `steps.watch` meanwhile), the status telling the user why nothing moves; a longer one
    hands the job back. `LeftOurHandsError` and `LaneChangeError` go on to the pipeline.
    """
    request = job.request
    if request.chat_blocked:
        logger.info("job %s: chat %s is blocked; ending", request.id, request.chat_telegram_id)
        await end_chat(job, "the chat was unreachable before")
        return
    try:
        with flood_observer(job.status.on_flood_wait), flood_hand_back(flood_hand_back_s):
            await deliver()
    except (LeftOurHandsError, LaneChangeError):
        raise
    except TelegramRetryAfter as exc:
        await hand_back_flooded(job, exc)
    except DownloadError as exc:
        if isinstance(exc, SitePushBackError) and warn_admins is not None:
            await warn_admins(exc)
        if exc.transient:
            logger.warning("job %s: transient failure: %s", request.id, exc.detail)
            await job.requests.release(request.id)
            raise RetryJobError(exc.user_message) from exc
        logger.info("job %s: failed: %s (%s)", request.id, exc.user_message, exc.detail)
        await fail(job, texts.download_failed(exc))
    except (TelegramNetworkError, TelegramServerError) as exc:
        # Passing: Telegram down for a while.
        logger.warning("job %s: Telegram is not taking it now: %s", request.id, exc)
        await job.requests.release(request.id)
        raise RetryJobError(describe(exc)) from exc
    except TelegramAPIError as exc:
        if chat_unreachable(exc):
            logger.warning(
                "job %s: chat %s is unreachable (%s); ending its requests",
                request.id,
                request.chat_telegram_id,
                exc.message,
            )
            await end_chat(job, exc.message)
            return
        logger.warning("job %s: Telegram refused the delivery: %s", request.id, exc.message)
        await fail(job, describe(exc), detail=exc.message)
    except RetryJobError:
        await job.requests.release(request.id)
        raise
    except Exception as exc:
        if database_unavailable(exc):
            raise  # nothing to release it with: the lease runs out (see `worker.pipeline`)
        logger.exception("job %s: unexpected failure", request.id)
        await job.requests.release(request.id)
        raise RetryJobError(f"{type(exc).__name__}: {exc}") from exc
