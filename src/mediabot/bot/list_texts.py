"""What the bot says about a list of links sent as a `.txt` file (`bot/usecases/link_lists.py`),
in the conventions of `bot/texts.py`."""

from __future__ import annotations

from mediabot.i18n import _


def list_too_big(max_kb: int) -> str:
    return _("This file is too big for a list of links: I read files of up to {max_kb} KB.").format(
        max_kb=max_kb
    )


def list_without_links() -> str:
    return _("I found no links in this file: put one link per line.")


def list_unreadable() -> str:
    return _("I couldn't read this file; send it again in a moment.")
