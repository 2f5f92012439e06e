"""Static checks of an Orthanc configuration (QUALITY.md section 4.4), for CI and start-up.

A key that is absent takes Orthanc 1.10.1's default, and several defaults are unsafe
(``OrthancExplorerEnabled``, ``WebDavEnabled``, ``LimitFindResults=0``, ``DicomCheckCalledAet``),
so the checks judge the effective value.
"""

from __future__ import annotations

from collections.abc import Mapping

# (key, required value, Orthanc 1.10.1 default)
_REQUIRED: tuple[tuple[str, object, object], ...] = (
    ("RemoteAccessAllowed", False, False),
    ("AuthenticationEnabled", True, False),
    ("ExecuteLuaEnabled", False, False),
    ("RestApiWriteToFileSystemEnabled", False, False),
    ("WebDavEnabled", False, True),
    ("OrthancExplorerEnabled", False, True),
    ("DicomAlwaysAllowStore", False, True),
    ("DicomAlwaysAllowEcho", False, True),
    ("DicomCheckCalledAet", True, False),
    ("StorageCompression", False, False),
    ("OverwriteInstances", False, False),
    ("MaximumStorageSize", 0, 0),  # non-zero recycles (deletes) old patients in 1.10.1
    ("MaximumPatientCount", 0, 0),
)
_MAX_FIND_RESULTS = 100


def hardening_violations(
    config: Mapping[str, object], *, require_host_check: bool = True
) -> list[str]:
    """Return a sentence per unsafe setting of an Orthanc configuration; empty means compliant.

    ``require_host_check`` demands ``DicomCheckModalityHost=true`` (production); local
    stacks run without it.
    """
    problems = [
        f"{key} must be {_render(wanted)} (is {_render(config.get(key, default))})"
        for key, wanted, default in _REQUIRED
        if config.get(key, default) != wanted
    ]
    if require_host_check and config.get("DicomCheckModalityHost", False) is not True:
        problems.append("DicomCheckModalityHost must be true")
    if not config.get("RegisteredUsers"):
        problems.append("RegisteredUsers must hold at least one user")
    if config.get("LuaScripts"):
        problems.append("LuaScripts must be empty")
    for key in ("LimitFindResults", "LimitFindInstances"):
        value = config.get(key, 0)
        if not isinstance(value, int) or not 0 < value <= _MAX_FIND_RESULTS:
            problems.append(f"{key} must be between 1 and {_MAX_FIND_RESULTS} (is {value!r})")
    return problems


def _render(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else repr(value)
