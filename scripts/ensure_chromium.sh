#!/usr/bin/env bash
# The browser tests drive Debian's Chromium at /usr/bin/chromium (never a downloaded browser).
# Installs it with apt when it is missing and we may (root, or passwordless sudo, on Debian/Ubuntu);
# otherwise stops with the one command to run.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
hint="The browser tests need Chromium at /usr/bin/chromium: run 'sudo apt-get install -y chromium' (Debian/Ubuntu), then 'make test' again."
if [ -r /etc/debian_version ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    echo "$hint" >&2
    exit 1
  fi
  echo "Installing Chromium for the browser tests (apt-get install chromium)..."
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
  [ -x /usr/bin/chromium ] && exit 0
fi
echo "$hint" >&2
exit 1
