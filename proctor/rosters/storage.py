"""How a checked roster row is stored: PII encrypted, hashed and masked exactly like a Learner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from proctor.kernel.security.pii import PiiVault, mask_id_number, mask_phone
from proctor.rosters.checks import CheckedRow


def _mask_invalid(raw: str, mask: Callable[[str], str]) -> str:
    # A mistyped value is still someone's identifier: mask it, and never show short ones whole.
    value = raw[:32]
    return mask(value) if len(value) >= 10 else value[:3] + "*" * (len(value) - 3)


def row_values(row: CheckedRow, vault: PiiVault) -> dict[str, Any]:
    """Column values of a roster_row for one checked row (batch_id added by the caller)."""
    raw = row.raw
    values: dict[str, Any] = {
        "row_no": raw.row_no,
        "name": row.name[:50],
        "unit_name": raw.unit[:100],
        "unit_id": row.unit.id if row.unit else None,
        "rank": (row.rank or raw.rank)[:40],
        "position": (row.position if row.rank else "")[:60],
        "ok": row.ok,
        "errors": list(row.errors),
        "id_hash": None,
        "id_cipher": None,
        "id_masked": _mask_invalid(raw.id_number, mask_id_number),
        "phone_cipher": None,
        "phone_masked": _mask_invalid(raw.phone, mask_phone),
    }
    if row.id_number is not None:
        number = row.id_number.value
        values |= {
            "id_hash": vault.lookup_hash(number),
            "id_cipher": vault.encrypt(number),
            "id_masked": mask_id_number(number),
        }
    if row.phone is not None:
        values |= {"phone_cipher": vault.encrypt(row.phone), "phone_masked": mask_phone(row.phone)}
    return values
