"""The invisible characters that text from outside must not carry.

Bidirectional controls reorder what a reader sees; zero-width characters hide inside
names and links. Kept here, below every layer, so that the texts sent to Telegram and the
log lines written by any process (the link commands too) clean the same set.
"""

from __future__ import annotations

BIDI = "\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c"
"""Bidirectional controls (a regex character class body)."""
ZERO_WIDTH = "\u200b\u2060-\u2064\ufeff"
"""Zero-width characters that never join anything (a regex character class body)."""
JOINERS = "\u200c\u200d"
"""The zero-width joiner and non-joiner: part of emoji sequences and of some scripts."""
INVISIBLE = BIDI + ZERO_WIDTH + JOINERS
"""All of them (a regex character class body)."""
