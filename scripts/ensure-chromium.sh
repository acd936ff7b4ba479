#!/usr/bin/env bash
# Install headless Chromium and its WebDriver from Debian when missing (the browser test of the
# status page drives /usr/bin/chromium through /usr/bin/chromedriver). Needs root and apt.
set -euo pipefail
if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: apt-get not found; install chromium and chromium-driver by hand" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
/usr/bin/chromium --version
