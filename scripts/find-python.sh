#!/usr/bin/env bash
# Print the path of a Python >= 3.12 to build .venv with, or explain what is missing.
# Order: python3.13 / python3.12 / python3 on PATH (pyenv shims honour .python-version), then pyenv's versions.
set -u
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }
for candidate in python3.13 python3.12 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && ok "$candidate"; then
    "$candidate" -c 'import sys; print(sys.executable)'
    exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9]|[2-9][0-9])' | sort -rV); do
    path="$(pyenv root)/versions/$version/bin/python3"
    if [ -x "$path" ] && ok "$path"; then echo "$path"; exit 0; fi
  done
fi
for path in /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]; do
  if [ -x "$path" ] && ok "$path"; then echo "$path"; exit 0; fi
done
echo "Valueloop needs Python 3.12 or newer (.python-version says 3.12), and none was found." >&2
echo "Install it (e.g. 'pyenv install 3.12' or your system's python3.12 package) and run make again." >&2
exit 1
