#!/usr/bin/env bash
# The admin app's browser tests drive Debian's Chromium; no tool ever downloads a browser.
# One place decides what to do when it is missing, for `npm test`, `.ci/run` and the browser test:
#   - Chromium at $CHROMIUM_PATH (default /usr/bin/chromium): nothing to do;
#   - missing, running as root where apt-get exists (a fresh Debian machine, CI): install Debian's
#     package, saying so;
#   - otherwise: fail with the one command to run.
# --check: never install; print the path, or the message and fail (the browser test uses this).
set -euo pipefail

# Where Debian's package puts it (ROLLCALL_DEBIAN_CHROMIUM: only for this script's own test).
debian_chromium="${ROLLCALL_DEBIAN_CHROMIUM:-/usr/bin/chromium}"
chromium="${CHROMIUM_PATH:-$debian_chromium}"
check_only=false
[[ "${1:-}" == "--check" ]] && check_only=true

if [[ -x "$chromium" ]]; then
    echo "$chromium"
    exit 0
fi

if [[ -n "${CHROMIUM_PATH:-}" ]]; then
    echo "No Chromium at CHROMIUM_PATH=$CHROMIUM_PATH: point CHROMIUM_PATH at an installed Chromium, or unset it to use Debian's $debian_chromium." >&2
    exit 1
fi

install="apt-get update && apt-get install -y chromium"
if [[ "$check_only" == false && "$(id -u)" == 0 ]] && command -v apt-get > /dev/null; then
    echo "No Chromium at $chromium (the admin app's browser tests need it): installing Debian's package: $install" >&2
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
    if [[ ! -x "$chromium" ]]; then
        echo "apt-get installed chromium but $chromium is still missing; set CHROMIUM_PATH to its path." >&2
        exit 1
    fi
    echo "$chromium"
    exit 0
fi

if command -v apt-get > /dev/null; then
    if [[ "$(id -u)" == 0 ]]; then
        run="$install"
    else
        run="sudo sh -c '$install'"
    fi
    echo "No Chromium at $chromium (the admin app's browser tests need Debian's Chromium). Run: $run" >&2
else
    echo "No Chromium at $chromium (the admin app's browser tests need Chromium) and no apt-get here. Install Chromium with this system's package manager, then run: CHROMIUM_PATH=/path/to/chromium npm test" >&2
fi
exit 1
