#!/usr/bin/env bash
# The browser tests drive Debian's Chromium. Find it, or install it where this
# user may (root with apt-get, as in CI); otherwise stop and say what to do.
set -euo pipefail
for candidate in "${AECOURSE_CHROMIUM:-}" /usr/bin/chromium "$(command -v chromium || true)"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian's chromium for the browser tests (apt-get install chromium)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
  [ -x /usr/bin/chromium ] && exit 0
fi
echo "make test: no Chromium for the browser tests. Install Debian's package as root" >&2
echo "(apt-get install chromium) or set AECOURSE_CHROMIUM to a Chromium binary." >&2
exit 2
