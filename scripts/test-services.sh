#!/usr/bin/env bash
# Installs what the test suite starts by itself but pip cannot provide, from Debian's packages:
# - dovecot, the real IMAP server the IMAP poller's tests run (tests/adapters/imap_server.py
#   starts a private instance on a free loopback port);
# - chromium, the real browser the workspace's tests drive with Playwright (launched by its
#   path, /usr/bin/chromium: Playwright never downloads a browser here);
# - spamd (with spamassassin's shipped rules), the real SpamAssassin daemon the spam-scoring
#   tests run (tests/adapters/spamd_server.py starts a private instance on a free loopback
#   port, network tests off: no sa-update needed, GTUBE is a built-in rule).
# Idempotent: installs only what is missing.
set -euo pipefail

packages=()
if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then
  packages+=(dovecot-imapd)
fi
if [ ! -x /usr/bin/chromium ]; then
  packages+=(chromium)
fi
if ! command -v spamd >/dev/null 2>&1 && [ ! -x /usr/sbin/spamd ]; then
  packages+=(spamd spamassassin)
fi
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  sudo=(sudo)
fi
install() {
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}
# A fresh CI image may have no package lists yet: update only when the first try fails.
install || { "${sudo[@]}" apt-get update -qq && install; }
echo "installed ${packages[*]}"
