#!/usr/bin/env bash
# Install the Debian packages the tests need, only when missing, so local runs stay fast: Chromium (Playwright
# drives /usr/bin/chromium and downloads no browser), CJK fonts for the Chinese pages and PDFs, and Pango, which
# WeasyPrint lays out the PDF documents with (docs/deploying.md lists the ones an installation needs).
set -euo pipefail

packages=(chromium fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0)
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
  echo "Installing ${missing[*]} for the tests (apt-get)" >&2
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q &&
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

if ! install_missing; then
  echo "The tests need Debian's ${packages[*]}: run \`sudo apt-get install ${missing[*]}\`," \
       "then \`make test\` again." >&2
  exit 1
fi
