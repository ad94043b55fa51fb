#!/usr/bin/env bash
# Peak RSS of `sd-backup image` must not depend on the source size: runs it on a
# 1 GiB and an 8 GiB source cut from / repeated from the bench card, prints both.
#   bench/rss-scale.sh card.img [WORKDIR]
set -euo pipefail
card=${1:?usage: rss-scale.sh card.img [WORKDIR]}
work=${2:-/tmp/sdb-rss}
cli="$(cd "$(dirname "$0")/.." && pwd)/dist/bin/sd-backup.js"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
head -c 1G "$card" > "$work/1g.img"
: > "$work/8g.img"
while [ "$(stat -c %s "$work/8g.img")" -lt $((8 * 1024 ** 3)) ]; do cat "$card" >> "$work/8g.img"; done
truncate -s 8G "$work/8g.img"
for src in 1g 8g; do
  rm -rf "$work/nas"
  /usr/bin/time -f "$src: %e s, peak RSS %M KiB" node "$cli" image --device "$work/$src.img" --dest "$work/nas" --station rss --workers 2 --no-verify > /dev/null
done
