#!/usr/bin/env bash
# Install headless LibreOffice (Writer, Calc), poppler-utils and fonts-liberation2 from Debian
# when missing: `make preview` and the print-layout tests convert documents to PDF with them.
# fonts-liberation2 stands in for Times New Roman and has every Vietnamese glyph. Needs root.
set -euo pipefail
if command -v soffice >/dev/null && command -v pdftoppm >/dev/null \
   && [[ -d /usr/share/fonts/truetype/liberation2 ]]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-libreoffice: apt-get not found; install libreoffice-writer, libreoffice-calc," \
       "poppler-utils and fonts-liberation2 by hand" >&2
  exit 1
fi
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends libreoffice-writer-nogui \
  libreoffice-calc-nogui poppler-utils fonts-liberation2 >/dev/null
soffice --version
