"""Find and prepare the ``tritonserver`` that the ``nvidia-pytriton`` wheel ships.

The wheel lives in its own virtualenv (default ``<repo>/.venv-triton``) because its
Python-backend stub is built against NumPy 1.x while the rest of RadBridge may need NumPy 2.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]
SETUP_HINT = "run `bash infra/dev.sh setup` to (re)create it"


class TritonStartError(RuntimeError):
    """The local Triton server could not be prepared, started or made ready."""


@dataclass(frozen=True)
class TritonInstall:
    """Where the triton virtualenv keeps the server, its backends and its interpreter."""

    env_dir: Path
    python_version: str  # "3.11"
    python_libdir: Path  # the interpreter's own libpython folder
    site_packages: Path

    @property
    def server_root(self) -> Path:
        """Return the wheel's ``tritonserver`` folder."""
        return self.site_packages / "pytriton" / "tritonserver"

    @property
    def binary(self) -> Path:
        """Return the ``tritonserver`` executable."""
        return self.server_root / "bin" / "tritonserver"

    @property
    def stub(self) -> Path:
        """Return the Python-backend stub built for this interpreter's version."""
        return (
            self.server_root
            / "python_backend_stubs"
            / self.python_version
            / "triton_python_backend_stub"
        )

    @property
    def bundled_libs(self) -> Path:
        """Return the shared libraries vendored by the wheel."""
        return self.site_packages / "nvidia_pytriton.libs"


def default_env_dir() -> Path:
    """Return the default triton virtualenv, ``<repo>/.venv-triton``."""
    return _REPO_ROOT / ".venv-triton"


@functools.lru_cache(maxsize=8)
def locate_install(env_dir: Path) -> TritonInstall:
    """Ask the triton virtualenv's interpreter where it and the wheel live.

    Raises
    ------
    TritonStartError
        If the virtualenv, its interpreter or the ``nvidia-pytriton`` wheel is missing.
    """
    python = env_dir / "bin" / "python"
    if not python.exists():
        raise TritonStartError(f"No Triton virtualenv at {env_dir}: {SETUP_HINT}.")
    probe = (
        "import sys, sysconfig; "
        "print(f'{sys.version_info[0]}.{sys.version_info[1]}'); "
        "print(sysconfig.get_config_var('LIBDIR')); "
        "print(sysconfig.get_path('purelib'))"
    )
    answer = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    if answer.returncode != 0:
        raise TritonStartError(
            f"The interpreter {python} does not run ({answer.stderr.strip()}): {SETUP_HINT}."
        )
    version, libdir, purelib = answer.stdout.split()
    install = TritonInstall(env_dir, version, Path(libdir), Path(purelib))
    for needed in (install.binary, install.stub, install.bundled_libs):
        if not needed.exists():
            raise TritonStartError(
                f"{needed} is missing: nvidia-pytriton is not installed in {env_dir}; {SETUP_HINT}."
            )
    return install


def prepare_backends(env_dir: Path, workdir: Path) -> Path:
    """Copy the wheel's backends to ``workdir/backends`` and add the Python stub; idempotent.

    The wheel keeps the stubs for every Python version apart; Triton expects the one it should
    run inside ``backends/python/``, next to ``libtriton_python.so``.

    Returns
    -------
    Path
        The folder to pass as ``--backend-directory``.
    """
    install = locate_install(env_dir)
    backends = workdir / "backends"
    shutil.copytree(install.server_root / "backends", backends, dirs_exist_ok=True)
    stub = backends / "python" / "triton_python_backend_stub"
    if not stub.exists() or stub.stat().st_size != install.stub.stat().st_size:
        shutil.copy2(install.stub, stub)
    return backends


def server_environment(env_dir: Path) -> dict[str, str]:
    """Return the environment ``tritonserver`` and its Python stubs need.

    The interpreter's own libpython must come first on ``LD_LIBRARY_PATH``: otherwise the stub
    loads Debian's older libpython 3.11 and dies with ``'_thread.RLock' object has no attribute
    '_recursion_count'``. ``PATH`` starts with the virtualenv so the stub finds its NumPy 1.x.
    """
    install = locate_install(env_dir)
    env = dict(os.environ)
    # A PYTHONPATH/PYTHONHOME from the caller's (NumPy 2) environment would leak into the stub.
    for leaking in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"):
        env.pop(leaking, None)
    inherited = [part for part in env.get("LD_LIBRARY_PATH", "").split(":") if part]
    libraries = [str(install.python_libdir), str(install.bundled_libs), *inherited]
    env["LD_LIBRARY_PATH"] = ":".join(libraries)
    env["PATH"] = f"{env_dir / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}"
    env["VIRTUAL_ENV"] = str(env_dir)
    return env
