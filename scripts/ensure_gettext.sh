#!/usr/bin/env bash
# The message catalogs are compiled at install time (manage.py compilemessages needs msgfmt,
# makemessages needs xgettext): both come with Debian's gettext.
set -euo pipefail
if command -v msgfmt >/dev/null && command -v xgettext >/dev/null; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "gettext is missing and cannot be installed without root: apt-get install gettext" >&2
  exit 1
fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "Installing Debian's gettext for the message catalogs..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gettext >/dev/null
