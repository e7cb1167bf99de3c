"""Uploads whose bytes are made while they go up, with their size known before the first.

`StreamedFile` is an aiogram `InputFile` read from an async source of chunks (a file being
written in order); `DeliverySession` sends it as a multipart part of known size, so the
request carries an exact Content-Length rather than a chunked body. A retried request
reads the source again from its start.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from aiogram.types import InputFile
from aiohttp.payload import AsyncIterablePayload

if TYPE_CHECKING:
    from aiogram import Bot


class StreamedFile(InputFile):
    """`size` bytes that `chunks()` yields in order, each call from the first byte."""

    def __init__(
        self, chunks: Callable[[], AsyncIterator[bytes]], size: int, filename: str
    ) -> None:
        super().__init__(filename=filename)
        self._chunks = chunks
        self.size = size

    async def read(self, bot: Bot) -> AsyncGenerator[bytes, None]:
        del bot
        sent = 0
        async for chunk in self._chunks():
            sent += len(chunk)
            if sent > self.size:
                raise ValueError("a streamed upload grew past its announced size")
            yield chunk
        if sent != self.size:
            raise ValueError(f"a streamed upload ended at {sent} of {self.size} bytes")

    def payload(self, bot: Bot) -> AsyncIterablePayload:
        """The multipart body part: the chunks, with their total size announced."""
        return _SizedPayload(self.read(bot), self.size)


class _SizedPayload(AsyncIterablePayload):
    """An async iterable body part whose size is known, so the whole form's is too."""

    def __init__(self, value: AsyncIterator[bytes], size: int, **kwargs: Any) -> None:
        super().__init__(value, **kwargs)
        self._size = size
