"""The consortium's critical-value list: seeded with a common default list on first use.

The defaults follow lists Chinese hospitals publish for imaging (颅内出血, 张力性气胸, 主动脉夹层,
肺栓塞, 消化道穿孔...). SNOMED CT concepts are given only where the concept is unambiguous;
admins add their own entries and deactivate defaults they do not use.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.critical.exceptions import CriticalValueExists, UnknownCriticalValue
from services.models import CriticalValueDefinition

# (code, SNOMED CT concept or None, zh-CN label, en label)
DEFAULT_LIST: tuple[tuple[str, str | None, str, str], ...] = (
    ("CV-ICH", "1386000", "急性颅内出血", "Acute intracranial haemorrhage"),
    ("CV-INFARCT", "432504007", "急性大面积脑梗死", "Acute large cerebral infarction"),
    ("CV-TPTX", None, "张力性气胸", "Tension pneumothorax"),
    ("CV-PTX", "36118008", "大量气胸", "Large pneumothorax"),
    ("CV-AD", "308546005", "主动脉夹层", "Aortic dissection"),
    ("CV-PE", "59282003", "急性肺栓塞", "Acute pulmonary embolism"),
    ("CV-PERF", None, "消化道穿孔（膈下游离气体）", "Gastrointestinal perforation (free air)"),
    ("CV-OBST", "81060008", "急性肠梗阻", "Acute bowel obstruction"),
    ("CV-SPINE", None, "颈椎骨折伴脊髓损伤", "Cervical spine fracture with cord injury"),
    ("CV-FB", None, "气道异物", "Airway foreign body"),
)


def _seed(session: Session, tenant_id: uuid.UUID) -> None:
    for code, snomed, zh, en in DEFAULT_LIST:
        session.add(
            CriticalValueDefinition(
                tenant_id=tenant_id, code=code, snomed_code=snomed, label_zh=zh, label_en=en
            )
        )
    session.flush()


def definitions(
    session: Session, tenant_id: uuid.UUID, *, include_inactive: bool = False
) -> list[CriticalValueDefinition]:
    """Return the consortium's list, seeding the default list the first time it is asked for."""
    query = select(CriticalValueDefinition).where(CriticalValueDefinition.tenant_id == tenant_id)
    rows = list(session.scalars(query.order_by(CriticalValueDefinition.code)))
    if not rows:
        _seed(session, tenant_id)
        rows = list(session.scalars(query.order_by(CriticalValueDefinition.code)))
    return rows if include_inactive else [row for row in rows if row.active]


def find(session: Session, tenant_id: uuid.UUID, code: str) -> CriticalValueDefinition:
    """Return the active entry for ``code``, or explain which codes exist."""
    active = definitions(session, tenant_id)
    for row in active:
        if row.code == code:
            return row
    known = ", ".join(row.code for row in active)
    raise UnknownCriticalValue(
        f"'{code}' is not on this consortium's critical-value list. Use one of: {known}; "
        "or ask a consortium administrator to add it.",
        known_codes=[row.code for row in active],
    )


def add(
    session: Session,
    tenant_id: uuid.UUID,
    *,
    code: str,
    label_zh: str,
    label_en: str,
    snomed_code: str | None,
) -> CriticalValueDefinition:
    """Add an entry; codes are unique within the consortium."""
    existing = {row.code: row for row in definitions(session, tenant_id, include_inactive=True)}
    if code in existing:
        if existing[code].active:
            raise CriticalValueExists(f"The critical-value list already has '{code}'.")
        row = existing[code]
        row.active, row.label_zh, row.label_en, row.snomed_code = (
            True,
            label_zh,
            label_en,
            snomed_code,
        )
        return row
    row = CriticalValueDefinition(
        tenant_id=tenant_id,
        code=code,
        snomed_code=snomed_code,
        label_zh=label_zh,
        label_en=label_en,
    )
    session.add(row)
    session.flush()
    return row


def deactivate(session: Session, tenant_id: uuid.UUID, code: str) -> CriticalValueDefinition:
    """Take an entry off the list; results already declared with it keep it."""
    row = find(session, tenant_id, code)
    row.active = False
    return row
