#!/usr/bin/env bash
# Builds and tests the VS Code extension from a clean checkout: installs exactly what
# package-lock.json pins (npm registry only), compiles the client with tsc, then runs the
# TextMate grammar tests and the keyword/operator coverage check.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund
npm run compile
npm test
