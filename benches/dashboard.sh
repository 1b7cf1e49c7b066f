#!/usr/bin/env bash
# The dashboard's first load in headless Chromium: the page's size on the
# wire and when it first painted, as the browser's own Performance API
# reports them (navigation entry's encodedBodySize, first-contentful-paint,
# domContentLoadedEventEnd), read over WebDriver by the dashboard test of a
# running sandbox. Runs that test ${ROUNDS:-3} times and prints each figure.
#
# Usage: benches/dashboard.sh   (needs Docker, chromium and chromedriver)
set -euo pipefail
cd "$(dirname "$0")/.."
for round in $(seq 1 "${ROUNDS:-3}"); do
  cargo nextest run --no-capture -E 'test(/dashboard::/)' 2>&1 |
    sed -n "s/^dashboard first load: /round $round: /p"
done
