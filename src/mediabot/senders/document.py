"""Files sent as documents: the original streams, which Telegram keeps byte for byte.

A video or audio sent with `sendVideo`/`sendAudio` may be re-compressed by Telegram's
clients and servers; a document is stored and handed back exactly as uploaded. These
senders are the media senders of the same case (one file, a file cut into parts, file ids
sent again) with one difference: every file goes out through `sendDocument`, with
content-type detection off so Telegram does not turn it back into a playable video. The
parts of a file over the upload limit are cut by stream copy, as for media, and are
documents too.
"""

from __future__ import annotations

from mediabot.senders.audio import AudioSender
from mediabot.senders.base import Sender
from mediabot.senders.cached import CachedSender
from mediabot.senders.large import LargeAudioSender, LargeVideoSender
from mediabot.senders.video import VideoSender


class _AsDocument(Sender):
    """Posts every file as a document; mixed in before a media sender."""

    _as_documents = True


class VideoDocumentSender(_AsDocument, VideoSender):
    """One video that fits in one upload, as a document with a thumbnail frame."""


class AudioDocumentSender(_AsDocument, AudioSender):
    """One audio track that fits in one upload, as a document with its cover."""


class LargeVideoDocumentSender(_AsDocument, LargeVideoSender):
    """A video over the limit, as MP4 parts cut by stream copy, each a document."""


class LargeAudioDocumentSender(_AsDocument, LargeAudioSender):
    """An audio track over the limit, as M4A parts cut by stream copy, each a document."""


class CachedDocumentSender(_AsDocument, CachedSender):
    """Documents Telegram holds, sent again by file id in the shape of the first delivery
    (several files without time ranges, which only media senders send, go as albums)."""
