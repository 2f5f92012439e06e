"""The SCP's presentation contexts, shared by every association instead of deep-copied.

pynetdicom deep-copies the server's supported contexts for each association: with every
storage SOP class and transfer syntax that is about 7,000 validated UIDs, ~75 ms of CPU a
association here. Modalities that open an association per image paid that for each image.
The contexts are never changed by an association (negotiation builds new ones), so a copy of
the list that shares its context objects is all an association needs.
"""

from __future__ import annotations

from typing import Any

from pynetdicom.presentation import PresentationContext


class SharedContexts(list[PresentationContext]):
    """A list whose deep copy is a shallow one: contexts are read-only to associations."""

    def __deepcopy__(self, memo: dict[int, Any]) -> list[PresentationContext]:
        return list(self)
