#!/usr/bin/env bash
# Installs what the test suite starts by itself but pip cannot provide: dovecot, the real IMAP
# server the IMAP poller's tests run (tests/adapters/imap_server.py starts a private instance on
# a free loopback port). Idempotent: does nothing when dovecot is already installed.
set -euo pipefail

if command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
install() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null
}
# A fresh CI image may have no package lists yet: update only when the first try fails.
install || { "${sudo[@]}" apt-get update -qq && install; }
echo "installed $(/usr/sbin/dovecot --version | head -1) (dovecot-imapd)"
