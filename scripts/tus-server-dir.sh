#!/usr/bin/env bash
# Print the directory (relative to the checkout) that holds the @tus/server
# install for the Node found here: spec/fixtures/tus/v2 (@tus/server 2.x needs
# Node >= 20.19) or spec/fixtures/tus/v1 (1.x, e.g. Debian 12's Node 18).
# Exit 1 when there is no node.
set -euo pipefail
v=$(node -e 'process.stdout.write(process.versions.node)' 2>/dev/null) || exit 1
IFS=. read -r major minor _ <<<"$v"
if [ "$major" -gt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -ge 19 ]; }; then
  echo spec/fixtures/tus/v2
else
  echo spec/fixtures/tus/v1
fi
