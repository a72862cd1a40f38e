#!/usr/bin/env bash
# Real-browser check of the static report written by `ember compare`.
#
#   bash .ci/browser/check.sh REPORT_DIR SCREENSHOT_PATH
#
# Installs Debian's chromium (apt) and playwright-core (npm ci, never a browser
# download) when missing, then runs check.mjs. Exit 0: report OK; 1: problems
# (listed on stderr); 2: usage error.
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 REPORT_DIR SCREENSHOT_PATH" >&2
  exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ! -x "$CHROMIUM" ]; then
  echo "check.sh: installing Debian's chromium" >&2
  apt_install() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }
  # Only refresh the package lists when apt doesn't know the package or the
  # install from the current (possibly stale) lists fails.
  policy="$(apt-cache policy chromium 2>/dev/null || true)"
  if [[ "$policy" != *"Candidate: "[0-9]* ]] || ! apt_install; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_install
  fi
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "check.sh: installing Debian's nodejs and npm" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm \
    || { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q \
         && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm; }
fi

want="$(node -p "require('$HERE/package-lock.json').packages['node_modules/playwright-core'].version")"
have="$(node -p "try { require('$HERE/node_modules/playwright-core/package.json').version } catch { '' }")"
if [ "$want" != "$have" ]; then
  echo "check.sh: installing playwright-core@$want (npm ci, no browser download)" >&2
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi

echo "check.sh: $("$CHROMIUM" --version 2>/dev/null), playwright-core $want" >&2
exec node "$HERE/check.mjs" "$1" "$2"
