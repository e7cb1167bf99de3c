"""What the bot says about clips and subtitles, in the conventions of `bot/texts.py`.

A refusal of a clip (`domain.clips.ClipRangeError`) is answered by `clip_refused`, one plain
sentence per reason naming what was asked and how to write it instead.
"""

from __future__ import annotations

from mediabot.domain.clips import Clip, ClipProblem, ClipRangeError, format_time
from mediabot.i18n import _
from mediabot.telegram import texts as telegram_texts

_ASKED_LIMIT = 40
"""What was asked is quoted back cut to this many characters."""


def clip_button(clip: Clip) -> str:
    """The choice of the clip, offered beside the whole video."""
    if clip.end_s is None:
        return _("✂ From {start}").format(start=format_time(clip.start_s))
    return _("✂ Clip {start}–{end}").format(
        start=format_time(clip.start_s), end=format_time(clip.end_s)
    )


def clip_offered(clip: Clip) -> str:
    """A line under the link's offer: the buttons marked ✂ send the clip only."""
    return _("✂ marks the choices that send only {range}.").format(range=clip.label)


def clip_refused(refusal: ClipRangeError) -> str:
    """The answer to a clip that cannot be cut; the whole video is still offered."""
    asked = telegram_texts.safe_html(refusal.asked, _ASKED_LIMIT)
    if refusal.problem is ClipProblem.REVERSED:
        text = _("The clip {asked} ends before it starts: write the earlier time first.")
    elif refusal.problem is ClipProblem.EMPTY:
        text = _("The clip {asked} is empty: its start and its end are the same time.")
    elif refusal.problem is ClipProblem.PLAYLIST:
        text = _(
            "The clip {asked} can't be cut from a playlist: send the link of one of its "
            "videos with the times. The whole playlist is offered."
        )
    elif refusal.problem is ClipProblem.PAST_END:
        duration = format_time(refusal.duration_s or 0)
        return _("The clip {asked} starts after the end of the video ({duration}).").format(
            asked=asked, duration=duration
        )
    else:
        text = _(
            "I can't read the times in {asked}. Write them as 1:20-2:05, 1:02:03-1:02:30 or "
            "in seconds, 80-125 (whole seconds)."
        )
    return text.format(asked=asked)


def clip_too_long(max_minutes: int) -> str:
    """A clip over the duration limit, which applies to the clip, not the video."""
    return _(
        "This clip is longer than {max_minutes} minutes: ask for a shorter part, e.g. 1:20-2:05."
    ).format(max_minutes=max_minutes)


def video_too_long_ask_a_clip(max_minutes: int) -> str:
    """A video over the limit: a part of it may still be sent."""
    return _(
        "This video is longer than {max_minutes} minutes. Send the link again with the part "
        "you want, e.g. 1:20-2:05."
    ).format(max_minutes=max_minutes)


def subtitles_button() -> str:
    """The choice that sends the subtitles beside the file."""
    return _("💬 subtitles")


def subtitles_caption(language: str, automatic: bool) -> str:
    """The caption of a `.srt` sent beside the file; `language` is the track's code."""
    code = telegram_texts.safe_html(language, _ASKED_LIMIT)
    if automatic:
        return _("Subtitles ({language}, generated automatically)").format(language=code)
    return _("Subtitles ({language})").format(language=code)


def no_subtitles() -> str:
    return _("This video has no subtitles.")


def help_more() -> str:
    """The part of /help on clips, subtitles, lists of links and corrected links."""
    return _(
        "A part of a video: send the link with the times, e.g. <code>link 1:20-2:05</code>, "
        "or a link that starts at a time. 💬 sends the subtitles when the video has them. "
        "A .txt file of links is read like a message, and an edited link is answered again."
    )
