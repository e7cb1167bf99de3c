"""The user's default choice applied to a link's offer: what to deliver without asking.

The rule, one pure function (`default_pick`) whoever answers a lookup calls once the offer
is known (the bot or the worker: it lives in the domain, which both may import):

- "always ask" picks nothing: the offer's keyboard is shown, as without settings;
- "best up to H" picks the highest offered height at or below H. When every offered height
  is above H, it picks nothing and the keyboard is shown: "up to" is a ceiling the user set
  (a small screen, a metered connection), so the bot never goes over it on its own;
- "audio only" picks the audio when the offer has it, else nothing;
- a default picks nothing on an offer without what it names (photos only, audio only with
  a height default), so the user still chooses there.
"""

from __future__ import annotations

from mediabot.domain.enums import MediaKind
from mediabot.domain.offer import Offer, Pick
from mediabot.domain.preferences import DefaultChoice, Preferences


def default_pick(preferences: Preferences, offer: Offer) -> Pick | None:
    """The choice `preferences` make on `offer` (always one `offer.offers`), or None when
    the user is to be asked (see the module for the rule)."""
    default = preferences.default
    if default is DefaultChoice.AUDIO:
        return Pick(MediaKind.AUDIO) if offer.audio else None
    ceiling = default.max_height
    if ceiling is None:
        return None
    fitting = [height for height in offer.heights if height <= ceiling]
    return Pick(MediaKind.VIDEO, max(fitting)) if fitting else None
