#!/usr/bin/env bash
# Install the Debian packages the browser tests need, only when missing, so local runs stay fast: Chromium
# (Playwright drives /usr/bin/chromium and downloads no browser) and CJK fonts for the Chinese pages.
set -euo pipefail

packages=(chromium fonts-noto-cjk)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
((${#missing[@]})) || exit 0

install_missing() {
  local as_root=()
  command -v apt-get >/dev/null || return 1
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || return 1
    as_root=(sudo)
  fi
  echo "Installing ${missing[*]} for the browser tests (apt-get)" >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

if ! install_missing; then
  echo "The browser tests need Debian's chromium and fonts-noto-cjk: run \`sudo apt-get install ${missing[*]}\`," \
       "then \`make test\` again." >&2
  exit 1
fi
