"""Run Ralph's LRS (``ralph.api:app``) with its file-system backend, appending statements.

Ralph 5.1.0's file-system LRS backend writes every request with the data backend's
default operation, ``create``, which refuses an existing file: the first write creates
``fs_lrs.jsonl`` and every later one fails with HTTP 500 ("already exists and overwrite is
not allowed"). Ralph's own tutorial posts once, so it does not show. Making ``append`` the
default is the one change made here; validation, duplicate-id handling, storage and queries
are Ralph's own code. Usage: ``python ralph_server.py PORT`` (settings from RALPH_* variables).
"""

from __future__ import annotations

import sys

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

if __name__ == "__main__":
    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    uvicorn.run("ralph.api:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="info")
