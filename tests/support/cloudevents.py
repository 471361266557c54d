"""A test CloudEvent as a producer sends it (JSON object), with the envelope filled in."""

from __future__ import annotations

from typing import Any

ORG = "91110108MA01XXXX0X"


def cloudevent(event_id: str, kind: str, time: str, data: dict[str, Any], subject: str = ORG) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "https://erp.example.cn",
        "type": kind,
        "time": time,
        "subject": subject,
        "data": data,
    }
