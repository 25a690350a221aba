#!/usr/bin/env bash
# Screenshots of the demo's pages for the README: starts `uptake serve
# --demo` (the rollout as it stands at UPTAKE_NOW, by default a fixed
# Wednesday, so that the pictures change only when uptake does) with the
# bundled alerts, one of them sent to the Teams receiver of the tests,
# signs in as the demo's admin, saves each dashboard page, /alerts and
# /reports and photographs them with Debian's headless chromium; the Teams
# card is drawn by Microsoft's Adaptive Cards SDK. Needs curl, chromium and
# the test receivers (`.ci/install`).
#
#   docs/screenshots.sh [UPTAKE_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-target/debug/uptake}
[ -x "$binary" ] || cargo build --quiet
export UPTAKE_NOW=${UPTAKE_NOW:-2026-12-02T10:30:00Z}
work=$(mktemp -d)
port=${PORT:-18080}
chat_port=$((port + 1))
node tests/chat/receiver.js "$chat_port" "$work/chat.jsonl" > /dev/null &
receiver=$!
mkdir "$work/alerts"
cp alerts/*.toml "$work/alerts/"
printf '\n[[deliver]]\nteams = "http://127.0.0.1:%s/teams/demo"\n[[deliver]]\nslack = "http://127.0.0.1:%s/slack/demo"\n' \
    "$chat_port" "$chat_port" >> "$work/alerts/team-below-target.toml"
UPTAKE_SERVER_PUBLIC_URL="http://127.0.0.1:$port" \
    "$binary" --data "$work/data" --alerts "$work/alerts" serve --demo --listen "127.0.0.1:$port" 2> "$work/serve.log" &
server=$!
trap 'kill $server $receiver 2> /dev/null || true; rm -rf "$work"' EXIT
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
shoot() { # NAME HEIGHT FILE
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$work/profile" --hide-scrollbars --window-size=1280,"$2" \
        --virtual-time-budget=3000 --screenshot="docs/$1.png" "file://$3" 2> /dev/null
    echo "docs/$1.png"
}
for page in overview lagging modules; do
    # Tall enough for every panel of the page.
    height=1900
    [ "$page" = overview ] && height=2700
    # The page is self-contained (styles and charts inline).
    curl -sf -b "$work/cookies" "http://127.0.0.1:$port/dashboards/$page?lang=en" > "$work/$page.html"
    shoot "$page" "$height" "$work/$page.html"
done
# The alerts are checked right after the start; their messages arrive.
for _ in $(seq 1 60); do
    grep -q '"/teams/demo"' "$work/chat.jsonl" 2> /dev/null && break
    sleep 1
done
for page in alerts reports; do
    curl -sf -b "$work/cookies" "http://127.0.0.1:$port/$page?lang=en" > "$work/$page.html"
    shoot "$page" 1400 "$work/$page.html"
done
# The Teams card as Teams draws it: the Adaptive Cards SDK renders the
# card the receiver accepted.
python3 - "$work/chat.jsonl" "$PWD/tests/chat/node_modules/adaptivecards/dist/adaptivecards.min.js" > "$work/teams.html" <<'PY'
import json, sys
card = next(json.loads(l)["body"]["attachments"][0]["content"]
            for l in open(sys.argv[1]) if '"/teams/demo"' in l)
print(f"""<!doctype html><html><head><meta charset="utf-8">
<style>body{{background:#f5f5f5;font-family:'Segoe UI',sans-serif;margin:24px}}
#card{{width:560px;background:#fff;border-radius:6px;box-shadow:0 1px 4px #0003;padding:4px}}</style>
<script src="file://{sys.argv[2]}"></script></head><body><div id="card"></div><script>
const card = new AdaptiveCards.AdaptiveCard();
card.parse({json.dumps(card)});
document.getElementById("card").appendChild(card.render());
</script></body></html>""")
PY
shoot teams-card 1100 "$work/teams.html"
