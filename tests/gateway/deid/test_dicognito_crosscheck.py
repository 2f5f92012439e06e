"""Cross-check with an independent de-identifier (dicognito 0.19) on every pydicom test file.

Whatever dicognito changes it considers identifying. Our output must not keep the original
value of any such attribute, at any depth, with three documented exceptions:
- times of day (TM): our Modified Dates shift is whole days, so times stay (PS3.15 E.3.6
  allows it; dicognito shifts by hours);
- UIDs that name a terminology or a registered standard object, not an instance
  (CodingSchemeUID and values in the DICOM UID registry);
- the markers both tools write (Patient Identity Removed, De-identification Method).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from dicognito.anonymizer import Anonymizer
from pydicom._uid_dict import UID_dictionary
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from tests.gateway.deid.corpus import TEST_FILES, composite_files, deidentified, read

pytestmark = pytest.mark.unit
TENANT = uuid.UUID(int=7)
MARKERS = {"PatientIdentityRemoved", "DeidentificationMethod", "DeidentificationMethodCodeSequence"}
TERMINOLOGY_UIDS = {"CodingSchemeUID", "MappingResourceUID", "ContextGroupExtensionCreatorUID"}

Path_ = tuple[tuple[int, int], ...]


def _leaves(ds: Dataset, prefix: Path_ = ()) -> Iterator[tuple[Path_, DataElement]]:
    for element in ds:
        if element.VR == "SQ":
            for index, item in enumerate(element.value):
                yield from _leaves(item, (*prefix, (int(element.tag), index)))
        else:
            yield (*prefix, (int(element.tag), -1)), element


def _at(ds: Dataset, path: Path_) -> DataElement | None:
    current: Dataset = ds
    for tag, index in path[:-1]:
        element = current.get(tag)
        if element is None or index >= len(element.value):
            return None
        current = element.value[index]
    return current.get(path[-1][0])


def _exempt(element: DataElement) -> bool:
    if element.VR == "TM" or element.keyword in MARKERS | TERMINOLOGY_UIDS:
        return True
    return element.VR == "UI" and str(element.value) in UID_dictionary


@pytest.mark.parametrize("path", composite_files(), ids=lambda p: str(p.relative_to(TEST_FILES)))
def test_nothing_dicognito_changes_keeps_its_original_value(path: Path) -> None:
    original = read(path)
    theirs = copy.deepcopy(original)
    Anonymizer(seed="radbridge-crosscheck").anonymize(theirs)
    ours = deidentified(original, TENANT)
    checked, leaks = 0, []
    for where, element in _leaves(original):
        if element.tag.is_private or element.is_empty or _exempt(element):
            continue
        their = _at(theirs, where)
        if their is None or their.value == element.value:
            continue  # dicognito kept it: not identifying in its view
        checked += 1
        our = _at(ours, where)
        if our is not None and our.value == element.value:
            leaks.append(f"{element.tag} {element.keyword}={element.value!r}")
    assert not leaks, f"kept values dicognito replaces: {leaks}"
    assert checked > 0 or not any(e.VR in ("PN", "UI", "DA") for _, e in _leaves(original))
