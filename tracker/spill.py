"""The embedded store's spill file: acknowledged evidence that the last flush at shutdown
could not write to SQL (a locked database, say) survives in a file in the data folder,
and the next start writes it through the writer before serving.

One JSON line per entry, fsynced. Replaying is idempotent (entries keep their ids), so a
file replayed twice, or spilled again after a partial replay, writes nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

from tracker.evidence import Evidence, dumps, loads
from tracker.writer import EvidenceWriter

log = logging.getLogger(__name__)


def spill(path: Path, entries: list[Evidence]) -> None:
    """Append entries to the spill file and make them durable before returning."""
    if not entries:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as f:
        for e in entries:
            f.write(dumps(e) + "\n")
        f.flush()
        os.fsync(f.fileno())
    # The file's directory entry must be durable too, or a crash could lose a new file.
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    log.warning("%d evidence entries not written to SQL were spilled to %s", len(entries), path)


def read(path: Path) -> list[Evidence] | None:
    """The entries of a spill file, None without one (a torn line from a crash is skipped)."""
    if not path.exists():
        return None
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(loads(line))
        except (json.JSONDecodeError, KeyError):
            log.warning("skipped a torn line in %s", path)
    return entries


async def replay(writer: EvidenceWriter, path: Path, batch: int = 500) -> int:
    """Write a spill file's entries to SQL, then delete it; returns how many were replayed.

    A failure leaves the file in place and propagates: the server must not start serving
    (and later spill again) while acknowledged evidence from its last run is unwritten.
    """
    entries = await asyncio.to_thread(read, path)
    if entries is None:
        return 0
    for i in range(0, len(entries), batch):
        await writer.write(entries[i : i + batch])
    await asyncio.to_thread(path.unlink)
    log.warning("replayed %d spilled evidence entries from %s", len(entries), path)
    return len(entries)
