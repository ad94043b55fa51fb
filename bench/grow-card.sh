#!/usr/bin/env bash
# Grows a bench card to SIZE_GIB the way a Pi's first boot grows its card: the last
# partition is extended to the end (sfdisk) and its ext4 resized (resize2fs), so the
# data is the same and only the free space grows. The copy is sparse: a 64 GiB card
# costs the disk what the small one does. Needs root (a loop device for resize2fs).
#
#   bench/grow-card.sh SMALL.img GROWN.img SIZE_GIB
set -euo pipefail
small=${1:?usage: grow-card.sh SMALL.img GROWN.img SIZE_GIB}
grown=${2:?usage: grow-card.sh SMALL.img GROWN.img SIZE_GIB}
size_gib=${3:?usage: grow-card.sh SMALL.img GROWN.img SIZE_GIB}
for tool in sfdisk resize2fs e2fsck losetup; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install fdisk e2fsprogs util-linux)" >&2; exit 2; }
done
rm -f "$grown"
cp --sparse=always "$small" "$grown"
truncate -s "${size_gib}G" "$grown"
# The last partition (the root) takes the rest of the card, as raspi-config's expand does.
last=$(sfdisk -l -o Device "$grown" | tail -1 | sed 's/.*[^0-9]\([0-9]\+\)$/\1/')
echo ', +' | sfdisk -q -N "$last" "$grown" 2>/dev/null
read -r start sectors < <(sfdisk -J "$grown" | node -e '
  const t = JSON.parse(require("fs").readFileSync(0, "utf8")).partitiontable
  const p = t.partitions.at(-1); console.log(p.start, p.size)')
loop=$(losetup -f --show -o $((start * 512)) --sizelimit $((sectors * 512)) "$grown")
trap 'losetup -d "$loop"' EXIT
e2fsck -fy "$loop" >/dev/null 2>&1 || true   # resize2fs asks for a freshly checked filesystem
resize2fs -f "$loop" >/dev/null 2>&1
e2fsck -fn "$loop" >/dev/null 2>&1 || { echo "e2fsck -fn fails on the grown root of $grown" >&2; exit 1; }
echo "grown $grown: ${size_gib} GiB, root partition $((sectors / 2048)) MiB, $(du -sm "$grown" | cut -f1) MiB on disk"
