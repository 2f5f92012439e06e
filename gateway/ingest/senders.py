"""Who an instance is admitted for: an organization's defaults, or one of its DICOM nodes.

The SCP builds its :class:`Sender` from the calling node when an association opens; a release
from quarantine builds the same one from the node recorded on the item, so a released
instance gets the node's character-set override exactly as a fresh C-STORE would.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from gateway.ingest.admission import CHARSET_OVERRIDES, Sender
from services.models import DicomNode, Organization

log = logging.getLogger("radbridge.ingest")


def for_organization(organization: Organization) -> Sender:
    """Return the sender for uploads by an organization's users (no device quirks)."""
    return Sender(organization.id, organization.patient_id_issuer)


def for_node(session: Session, node: DicomNode) -> Sender | None:
    """Return the sender for a DICOM node (its override), or None if its clinic is gone."""
    organization = session.get(Organization, node.organization_id)
    if organization is None:
        return None
    override = node.character_set_override
    if override and override not in CHARSET_OVERRIDES:
        log.warning("node %s: unknown character set override %r", node.ae_title, override)
        override = ""
    return Sender(
        organization_id=organization.id,
        patient_id_issuer=organization.patient_id_issuer,
        charset_override=override,
    )
