#!/usr/bin/env bash
# The Debian packages a make target needs, installed when they are missing:
#   gettext   msgfmt compiles the pt-BR catalogue (make install, make demo)
#   chromium  Debian's Chromium, which Playwright drives in the browser tests (make test)
#   weasyprint  the libraries WeasyPrint renders the board pack's PDF with (web, worker,
#             tests): Pango (libpango-1.0-0, libpangoft2-1.0-0), HarfBuzz's subsetter
#             (libharfbuzz-subset0) and a font (fonts-dejavu-core). Checked with dpkg-query;
#             on a system without it, WeasyPrint names a missing library when it loads.
#   npm       installs axe-core from the npm registry for the browser tests (make node-deps)
#   faketime  moves the clock of the fake Stripe server (localstripe) in the connector's
#             tests (libfaketime, LD_PRELOADed into that one process)
# As root with apt-get, installs them; otherwise stops at once, before anything runs,
# with the one command to run. Never a downloaded browser.
# SYSTEM_PACKAGES_INSTALL=0 never installs (it only checks); CHROMIUM_PATH is where the
# browser tests look for Chromium (/usr/bin/chromium).
set -euo pipefail
chromium=${CHROMIUM_PATH:-/usr/bin/chromium}

installed() {
  command -v dpkg-query >/dev/null 2>&1 || return 0
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q ' installed$'
}

missing=()
for package in "$@"; do
  case $package in
    gettext) command -v msgfmt >/dev/null 2>&1 || missing+=(gettext) ;;
    chromium) [ -x "$chromium" ] || missing+=(chromium) ;;
    weasyprint)
      for library in libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core; do
        installed "$library" || missing+=("$library")
      done ;;
    npm) command -v npm >/dev/null 2>&1 || missing+=(npm) ;;
    faketime) command -v faketime >/dev/null 2>&1 || missing+=(faketime) ;;
    *) echo "system_packages.sh: unknown package '$package'" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "${SYSTEM_PACKAGES_INSTALL:-1}" != 0 ] && [ "$(id -u)" = 0 ] \
  && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's ${missing[*]} with apt-get (once)..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  exit 0
fi

{
  echo "Missing: ${missing[*]} (Debian packages). Install them, then run this command again:"
  echo "    sudo apt-get install ${missing[*]}"
  case " ${missing[*]} " in
    *" chromium "*) echo "(Only the browser tests need Chromium: 'make test-fast' runs without it.)" ;;
  esac
} >&2
exit 1
