#!/usr/bin/env bash
# Screenshots of the demo's dashboards for the README: starts `uptake serve
# --demo` (the rollout as it stands at UPTAKE_NOW, by default a fixed
# Wednesday, so that the pictures change only when uptake does), signs in
# as the demo's admin, saves each dashboard page and photographs it with
# Debian's headless chromium. Needs curl and chromium (`.ci/install`).
#
#   docs/screenshots.sh [UPTAKE_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/debug/uptake}
[ -x "$binary" ] || cargo build --quiet
export UPTAKE_NOW=${UPTAKE_NOW:-2026-12-02T10:30:00Z}
work=$(mktemp -d)
port=${PORT:-18080}
"$binary" --data "$work/data" serve --demo --listen "127.0.0.1:$port" 2> "$work/serve.log" &
server=$!
trap 'kill $server 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do
    curl -sf "http://127.0.0.1:$port/health" > /dev/null && break
    sleep 1
done
password=$(sed -n 's/.*sign in as user demo with password //p' "$work/serve.log")
token=$(curl -s -c "$work/cookies" "http://127.0.0.1:$port/login" \
    | sed -n 's/.*name="form_token" value="\([^"]*\)".*/\1/p')
curl -s -b "$work/cookies" -c "$work/cookies" -o /dev/null \
    --data-urlencode user=demo --data-urlencode "password=$password" \
    --data-urlencode "form_token=$token" --data-urlencode next=/ \
    "http://127.0.0.1:$port/login"
for page in overview lagging modules; do
    # Tall enough for every panel of the page.
    height=1900
    [ "$page" = overview ] && height=2700
    # The page is self-contained (styles and charts inline).
    curl -sf -b "$work/cookies" "http://127.0.0.1:$port/dashboards/$page?lang=en" > "$work/$page.html"
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/profile" --hide-scrollbars --window-size=1280,$height \
        --screenshot="docs/$page.png" "file://$work/$page.html" 2> /dev/null
    echo "docs/$page.png"
done
