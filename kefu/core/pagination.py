"""Opaque cursors for keyset pagination over (timestamp, id)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from kefu.core.errors import KefuError


@dataclass(frozen=True)
class Cursor:
    at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        raw = json.dumps({"at": self.at.isoformat(), "id": str(self.id)}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            padded = value + "=" * (-len(value) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            cursor = cls(at=datetime.fromisoformat(data["at"]), id=uuid.UUID(data["id"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KefuError("cursor is not valid", code="invalid_cursor", status=400) from exc
        if cursor.at.tzinfo is None:
            raise KefuError("cursor is not valid", code="invalid_cursor", status=400)
        return cursor
