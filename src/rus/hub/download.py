"""Robust product downloads: parallel, resumable, verified, atomically finalised.

For each product the bytes go to ``<name>.part``; a re-run (or a retry after a dropped
connection) asks for the rest with ``Range: bytes=<size>-`` and restarts cleanly when the server
answers 200 instead of 206 (no Range support). The finished file is verified against the catalogue
checksum (BLAKE3 preferred, else MD5), quarantined when corrupt and downloaded again, and only
then renamed to its final name. HTTP 202 means the product is offline (its retrieval was ordered).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from rus.hub.errors import (
    ChecksumError,
    DiskFullError,
    DownloadError,
    HubError,
    OfflineProductError,
)
from rus.hub.http import RetryPolicy, TokenSource, send
from rus.hub.records import ProductRecord

log = logging.getLogger("rus.hub.download")

#: ``progress(name, bytes_done, bytes_total_or_None)``, called about every MiB and at the end.
ProgressCallback = Callable[[str, int, int | None], None]
Status = Literal["downloaded", "present", "offline", "failed"]
_TRANSIENT = (httpx.TransportError, httpx.StreamError)
_PROGRESS_STEP = 1 << 20
_BLOCK = 1 << 20


def new_hasher(algorithm: str) -> Any:
    """A hashlib-like object for ``MD5`` or ``BLAKE3``."""
    algo = algorithm.upper()
    if algo == "MD5":
        return hashlib.md5(usedforsecurity=False)
    if algo == "BLAKE3":
        from blake3 import blake3

        return blake3(max_threads=1)
    raise HubError(f"unsupported checksum algorithm {algorithm!r} (MD5 or BLAKE3)")


def pick_checksum(checksums: dict[str, str]) -> tuple[str, str | None]:
    """``(algorithm, expected)``: BLAKE3 when the catalogue has it, else MD5, else
    ``("BLAKE3", None)`` (no reference: a local digest is computed for the record)."""
    for algo in ("BLAKE3", "MD5"):
        if checksums.get(algo):
            return algo, checksums[algo].lower()
    return "BLAKE3", None


def file_digest(path: Path, algorithm: str, *, chunk: int = 4 << 20) -> str:
    """Hex digest of a file (streamed)."""
    h = new_hasher(algorithm)
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return str(h.hexdigest())


@dataclass
class DownloadResult:
    """Outcome of one product download (never raised: collected for the report)."""

    product_id: str
    name: str
    status: Status
    path: Path | None = None
    size: int = 0
    resumed_from: int = 0
    restarts: int = 0
    algorithm: str | None = None
    digest: str | None = None
    checksum_status: Literal["verified", "unavailable", "mismatch", "not-checked"] = "not-checked"
    message: str = ""
    seconds: float = 0.0
    quarantined: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["path"] = str(self.path) if self.path else None
        out["quarantined"] = [str(p) for p in self.quarantined]
        return out


_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class Downloader:
    """Download products with a bounded number of parallel connections.

    Parameters
    ----------
    client
        HTTP client (connection pool sized for ``max_parallel``).
    token
        Bearer token source (:class:`rus.hub.auth.TokenManager`); None for open servers.
    max_parallel
        Concurrent downloads (CDSE allows 4 per user).
    checksum_retries
        How many times a corrupt download is quarantined and fetched again.
    progress
        Optional progress callback.
    quarantine_dir
        Where corrupt files are moved (default ``<dest>/.quarantine``).
    """

    def __init__(
        self,
        client: httpx.Client | None = None,
        *,
        token: TokenSource | None = None,
        max_parallel: int = 4,
        policy: RetryPolicy | None = None,
        checksum_retries: int = 2,
        progress: ProgressCallback | None = None,
        quarantine_dir: Path | None = None,
        chunk_size: int = 1 << 20,
    ) -> None:
        limits = httpx.Limits(max_connections=max_parallel * 2, max_keepalive_connections=8)
        timeout = httpx.Timeout(60.0, connect=15.0)
        self.client = client or httpx.Client(timeout=timeout, limits=limits)
        self.token = token
        self.max_parallel = max(1, max_parallel)
        self.policy = policy or RetryPolicy()
        self.checksum_retries = checksum_retries
        self.progress = progress
        self.quarantine_dir = quarantine_dir
        self.chunk_size = chunk_size
        self._lock = threading.Lock()

    def download_many(
        self, items: Sequence[tuple[ProductRecord, str]], dest: str | os.PathLike[str]
    ) -> list[DownloadResult]:
        """Download ``(record, url)`` pairs in parallel; results in input order."""
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(items))) as pool:
            return list(pool.map(lambda it: self.download(it[0], it[1], dest), items))

    def download(
        self, record: ProductRecord, url: str, dest: str | os.PathLike[str]
    ) -> DownloadResult:
        """Download one product into folder ``dest``; errors become a ``failed`` result."""
        t0 = time.perf_counter()
        result = DownloadResult(record.id, record.name, "failed")
        try:
            self._download(record, url, Path(dest), result)
        except OfflineProductError as exc:
            result.status, result.message = "offline", str(exc)
        except DiskFullError:
            raise
        except HubError as exc:
            result.status, result.message = "failed", str(exc)
        result.seconds = time.perf_counter() - t0
        return result

    def _download(
        self, record: ProductRecord, url: str, dest: Path, result: DownloadResult
    ) -> None:
        dest.mkdir(parents=True, exist_ok=True)
        target = dest / record.file_name
        part = target.with_name(target.name + ".part")
        algo, expected = pick_checksum(record.checksums)
        result.algorithm = algo
        if target.exists() and self._already_there(target, record, algo, expected, result):
            return
        failures = 0
        attempt = 0
        while True:
            try:
                digest, size = self._fetch(record, url, part, algo, result)
            except _TRANSIENT as exc:
                if attempt >= self.policy.retries:
                    raise DownloadError(
                        f"{record.name}: connection kept failing "
                        f"({type(exc).__name__}); re-run to resume"
                    ) from exc
                log.info(
                    "%s: connection dropped at %d bytes; resuming",
                    record.name,
                    part.stat().st_size if part.exists() else 0,
                )
                self.policy.wait(attempt)
                attempt += 1
                continue
            if expected is not None and digest != expected:
                failures += 1
                self._quarantine(part, record, result)
                result.checksum_status = "mismatch"
                if failures > self.checksum_retries:
                    raise ChecksumError(
                        f"{record.name}: {algo} checksum mismatch on {failures} downloads "
                        f"(expected {expected}, got {digest}); corrupt copies quarantined"
                    )
                log.warning(
                    "%s: %s mismatch; file quarantined, downloading again", record.name, algo
                )
                result.restarts += 1
                continue
            break
        os.replace(part, target)
        result.status, result.path, result.size, result.digest = "downloaded", target, size, digest
        if expected is None:
            result.checksum_status = "unavailable"
            result.message = (
                f"the catalogue gives no checksum for {record.name}: size checked "
                f"only; local {algo} {digest}"
            )
        else:
            result.checksum_status = "verified"

    def _already_there(
        self,
        target: Path,
        record: ProductRecord,
        algo: str,
        expected: str | None,
        result: DownloadResult,
    ) -> bool:
        size = target.stat().st_size
        if expected is not None:
            digest = file_digest(target, algo)
            ok = digest == expected
            result.checksum_status = "verified" if ok else "not-checked"
        else:
            digest = None
            ok = record.content_length <= 0 or size == record.content_length
            result.checksum_status = "unavailable"
        if ok:
            result.status, result.path, result.size, result.digest = "present", target, size, digest
            result.message = "already downloaded"
            return True
        log.warning("%s: existing file does not match the catalogue; downloading again", target)
        self._quarantine(target, record, result)
        return False

    def _quarantine(self, path: Path, record: ProductRecord, result: DownloadResult) -> None:
        qdir = self.quarantine_dir or path.parent / ".quarantine"
        qdir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S")
        dest = qdir / f"{record.file_name}.{stamp}.{len(result.quarantined)}.corrupt"
        shutil.move(str(path), dest)
        result.quarantined.append(dest)

    def _fetch(
        self, record: ProductRecord, url: str, part: Path, algo: str, result: DownloadResult
    ) -> tuple[str, int]:
        """One HTTP exchange appending to ``part``; returns ``(digest, size)`` when complete."""
        offset = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        resp = send(
            self.client,
            "GET",
            url,
            headers=headers,
            token=self.token,
            policy=self.policy,
            stream=True,
        )
        try:
            if resp.status_code == 202:
                raise OfflineProductError(
                    f"{record.name} is offline (HTTP 202): its retrieval from the long-term "
                    "archive was ordered; download it again later"
                )
            if resp.status_code == 416:
                if offset and record.content_length and offset == record.content_length:
                    return file_digest(part, algo), offset
                part.unlink(missing_ok=True)
                raise httpx.StreamError("range not satisfiable; restarting")
            total = self._total(resp, offset)
            if offset and resp.status_code == 200:
                log.info("%s: the server ignores Range; restarting from 0", record.name)
                offset = 0
                result.restarts += 1
            elif offset and not result.resumed_from:
                result.resumed_from = offset
            hasher = new_hasher(algo)
            if offset:
                with open(part, "rb") as fh:
                    while block := fh.read(4 << 20):
                        hasher.update(block)
            done = self._stream(resp, part, offset, hasher, record.name, total)
        finally:
            resp.close()
        if total is not None and done != total:
            raise httpx.StreamError(f"short body: {done} of {total} bytes")
        if not total and record.content_length and done != record.content_length:
            raise httpx.StreamError(f"size {done} differs from catalogue {record.content_length}")
        return str(hasher.hexdigest()), done

    @staticmethod
    def _total(resp: httpx.Response, offset: int) -> int | None:
        if resp.status_code == 206:
            m = _CONTENT_RANGE.match(resp.headers.get("content-range", ""))
            if not m or int(m[1]) != offset:
                raise httpx.StreamError("unexpected Content-Range; restarting")
            return int(m[3]) if m[3] != "*" else None
        length = resp.headers.get("content-length")
        return int(length) if length else None

    def _stream(
        self,
        resp: httpx.Response,
        part: Path,
        offset: int,
        hasher: Any,
        name: str,
        total: int | None,
    ) -> int:
        """Append the body to ``part``; a writer thread writes and hashes 1 MiB blocks while
        this thread keeps reading the socket (both release the GIL for most of their work)."""
        blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=64)
        failure: list[BaseException] = []
        writer = threading.Thread(
            target=_write_blocks,
            args=(blocks, part, "ab" if offset else "wb", hasher, failure),
            daemon=True,
        )
        writer.start()
        done, reported = offset, offset
        try:
            for chunk in resp.iter_raw():
                if failure:
                    break
                blocks.put(chunk)
                done += len(chunk)
                if self.progress and done - reported >= _PROGRESS_STEP:
                    self.progress(name, done, total)
                    reported = done
        finally:
            blocks.put(None)
            writer.join()
        if failure:
            exc = failure[0]
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                raise DiskFullError(
                    f"{part}: no space left on the device after {part.stat().st_size} bytes of "
                    f"{name}; free some space (or `rus store evict`) and re-run to resume"
                ) from exc
            raise exc
        if self.progress:
            self.progress(name, done, total)
        return done


def _write_blocks(
    blocks: queue.Queue[bytes | None],
    part: Path,
    mode: str,
    hasher: Any,
    failure: list[BaseException],
) -> None:
    """Writer thread: join chunks into ~1 MiB blocks, write and hash them, fsync at the end.

    After an error it keeps draining the queue (so the reader never blocks) and records it.
    """
    pending: list[bytes] = []
    size = 0
    ended = False
    try:
        with open(part, mode) as fh:
            while (chunk := blocks.get()) is not None:
                pending.append(chunk)
                size += len(chunk)
                if size >= _BLOCK:
                    block = b"".join(pending)
                    fh.write(block)
                    hasher.update(block)
                    pending, size = [], 0
            ended = True
            if pending:
                block = b"".join(pending)
                fh.write(block)
                hasher.update(block)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:
        failure.append(exc)
        while not ended and blocks.get() is not None:
            pass
