"""Fragments, playlists and keys read from their origin through the guard, and decrypted.

Every request goes through `open_checked` (each URL and redirect checked, the guard proxy
named by the source's check carrying it), with the source's headers. A fragment is written
to disk as it arrives (its byte range cut out if the server ignored the range) and tried
three times on a broken read; an AES-128 fragment is decrypted in place once whole, each
key read once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Mapping
from pathlib import Path

import aiohttp
from yt_dlp.aes import aes_cbc_decrypt_bytes, unpad_pkcs7

from mediabot.domain.retry import Backoff
from mediabot.media.fragments.playlist import Fragment, FragmentKey
from mediabot.media.parts import SplitError
from mediabot.media.probe import without_query
from mediabot.media.remote.http import GuardedClient, RemoteReadError, UrlCheck, identity
from mediabot.media.tools import discard

logger = logging.getLogger(__name__)

_CHUNK_BYTES = 1024 * 1024
"""Received bytes are written to disk in chunks of about this much."""
_READ_BYTES = 256 * 1024
_FETCH_RETRY = Backoff(base_delay_s=0.5, max_delay_s=2.0, max_attempts=3)
_PLAYLIST_MAX_BYTES = 8 * 1024 * 1024
_KEY_MAX_BYTES = 64
_KEY_BYTES = 16


class FragmentClient(GuardedClient):
    """Reads one source's playlists, fragments and keys (`fetched_bytes` counts them all);
    `close()` after."""

    def __init__(self, headers: Mapping[str, str], url_check: UrlCheck | None) -> None:
        super().__init__(headers, url_check)
        self._keys: dict[str, bytes] = {}

    async def playlist(self, url: str) -> str:
        """The text of the playlist at `url` (at most `_PLAYLIST_MAX_BYTES`)."""
        data = await self._read_small(url, _PLAYLIST_MAX_BYTES)
        return data.decode("utf-8", errors="replace")

    async def fetch(self, fragment: Fragment, path: Path) -> int:
        """Write `fragment` to `path`, decrypted; returns its size. Raises
        `RemoteReadError` when it cannot be read (`SplitError` when its key is not one),
        and leaves no file then."""
        size = await self._download(fragment, path)
        try:
            if fragment.key is not None:
                size = await self._decrypt(fragment.key, path)
        except BaseException:
            discard(path)
            raise
        return size

    async def _read_small(self, url: str, most: int) -> bytes:
        """A small document (a playlist, a key) read whole through the guard."""
        response = await self._get(url, identity(self._headers))
        try:
            if response.status != 200:
                raise RemoteReadError(f"HTTP {response.status} from {without_query(url)}")
            data = await response.content.read(most + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RemoteReadError(f"reading {without_query(url)} failed: {exc}") from exc
        finally:
            response.release()
        if len(data) > most:
            raise RemoteReadError(f"{without_query(url)} is larger than {most} bytes")
        self.fetched_bytes += len(data)
        return data

    async def _download(self, fragment: Fragment, path: Path) -> int:
        """Write `fragment` to `path`, through the guard; three tries on a broken read.
        Returns the bytes written."""
        for attempt in itertools.count(1):
            try:
                return await self._download_once(fragment, path)
            except (
                aiohttp.ClientPayloadError,
                aiohttp.ServerDisconnectedError,
                TimeoutError,
            ) as exc:
                discard(path)
                if _FETCH_RETRY.gives_up_after(attempt):
                    raise RemoteReadError(
                        f"reading {without_query(fragment.url)} failed: {exc}"
                    ) from exc
                logger.info("Fetching %s again after: %s", without_query(fragment.url), exc)
                await asyncio.sleep(_FETCH_RETRY.delay_s(attempt))
            except BaseException:
                discard(path)
                raise
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _download_once(self, fragment: Fragment, path: Path) -> int:
        headers = identity(self._headers)
        skip, remaining, written = 0, -1, 0
        if fragment.byte_range is not None:
            offset, length = fragment.byte_range
            headers["Range"] = f"bytes={offset}-{offset + length - 1}"
            remaining = length
        response = await self._get(fragment.url, headers)
        try:
            if response.status not in (200, 206):
                raise RemoteReadError(f"HTTP {response.status} from {without_query(fragment.url)}")
            if fragment.byte_range is not None and response.status == 200:
                skip = fragment.byte_range[0]  # the server ignored the range
            with path.open("wb") as output:
                pending = bytearray()
                async for chunk in response.content.iter_chunked(_READ_BYTES):
                    self.fetched_bytes += len(chunk)
                    if skip:
                        dropped = min(skip, len(chunk))
                        chunk, skip = chunk[dropped:], skip - dropped
                    if remaining >= 0:
                        chunk = chunk[:remaining]
                        remaining -= len(chunk)
                    pending += chunk
                    written += len(chunk)
                    if len(pending) >= _CHUNK_BYTES:
                        await asyncio.to_thread(output.write, bytes(pending))
                        pending.clear()
                    if remaining == 0:
                        break
                await asyncio.to_thread(output.write, bytes(pending))
        finally:
            response.release()
        return written

    async def _decrypt(self, key: FragmentKey, path: Path) -> int:
        """Decrypt the fragment at `path` in place; returns its decrypted size."""
        if key.url not in self._keys:
            secret = await self._read_small(key.url, _KEY_MAX_BYTES)
            if len(secret) != _KEY_BYTES:
                raise SplitError(f"the key at {without_query(key.url)} is not 16 bytes")
            self._keys[key.url] = secret
        secret = self._keys[key.url]

        def decrypt() -> int:
            data = unpad_pkcs7(aes_cbc_decrypt_bytes(path.read_bytes(), secret, key.iv))
            path.write_bytes(data)
            return len(data)

        return await asyncio.to_thread(decrypt)
