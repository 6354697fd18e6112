#!/usr/bin/env bash
# Installs the Debian packages a purpose needs, if any are missing. Needs root (or sudo).
#   scripts/system-deps.sh test   -> PostgreSQL, Redis, Chromium (browser tests), gettext, the PDF
#                                    fonts, poppler-utils (the export tests read the PDFs back),
#                                    rtpengine, sipp, espeak-ng and sox (the SIP switch's tests)
#   scripts/system-deps.sh run    -> the Chinese TrueType fonts embedded in PDF exports (docs/exports.md)
set -euo pipefail
purpose=${1:-test}
case "$purpose" in
  test) pkgs=(postgresql redis-server chromium gettext fonts-arphic-uming fonts-wqy-zenhei poppler-utils
              rtpengine-daemon sip-tester espeak-ng sox) ;;
  run) pkgs=(fonts-arphic-uming fonts-wqy-zenhei) ;;
  *) echo "usage: $0 test|run" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "missing Debian packages: ${missing[*]} (install them as root)" >&2
    # the platform runs without them (PDF exports answer 503 until the fonts are installed)
    [ "$purpose" = run ] && exit 0
    exit 1
  fi
fi
echo "installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
