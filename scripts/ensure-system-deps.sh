#!/usr/bin/env bash
# Installs the Debian packages the product and its tests need, when they are missing and we are root.
# Fast when everything is there already. Usage: ensure-system-deps.sh [run|test]
set -euo pipefail
purpose="${1:-test}"

need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ "$purpose" = "test" ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
  # PostgreSQL: the suite uses the server on 127.0.0.1:5432 when it answers, else starts its own
  # throwaway server, which needs the binaries.
  if ! (command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432) \
     && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need+=(postgresql)
  fi
fi
command -v python3 >/dev/null 2>&1 || need+=(python3 python3-venv)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (install them with apt-get, or run make as root)" >&2
  exit 1
fi
echo "installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
