#!/usr/bin/env bash
# What the test suite needs beside Python packages: Debian's Chromium (Playwright drives it; it
# never downloads a browser of its own), a CJK font for screenshots, and the local PostgreSQL.
set -euo pipefail

if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium fonts-wqy-microhei >/dev/null
  else
    echo "note: chromium or fonts-wqy-microhei missing and not root: browser tests will skip" >&2
  fi
fi

if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null && [ "$(id -u)" = 0 ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  for _ in $(seq 1 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
