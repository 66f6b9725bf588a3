#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser build); the production
# layout test runs Debian's nginx with deploy/nginx.conf on a loopback port.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "Chromium or nginx is missing and cannot be installed without root: apt-get install chromium nginx" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "Installing Debian's chromium and nginx for the tests..." >&2
$SUDO apt-get update -qq
# policy-rc.d or not, the packaged nginx service is not wanted: tests start their own.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-liberation nginx >/dev/null
