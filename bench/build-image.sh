#!/usr/bin/env bash
# Builds a realistic Raspberry Pi SD-card image for the benchmarks, without root:
# an MBR, a FAT32 boot partition (mkfs.vfat --offset + mtools: no vfat needed in the
# kernel) and an ext4 root (mkfs.ext4 -E offset -d: populated without mounting)
# holding system files, logs, a SQLite database and audio-like recordings, about
# half full, with stale data from "deleted" recordings left in its free blocks.
#
#   bench/build-image.sh OUT.img [SIZE_MIB]      (default 2048)
set -euo pipefail
out=${1:?usage: build-image.sh OUT.img [SIZE_MIB]}
size_mib=${2:-2048}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/sdb-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
for tool in sfdisk mkfs.vfat mcopy mkfs.ext4 sqlite3 node; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install fdisk dosfstools mtools e2fsprogs sqlite3)" >&2; exit 2; }
done

boot_start=8192                     # sectors: 4 MiB alignment, as Raspberry Pi OS does
boot_sectors=$((256 * 2048))        # 256 MiB boot
root_start=$((boot_start + boot_sectors))
total_sectors=$((size_mib * 2048))
root_sectors=$((total_sectors - root_start))
root_mib=$((root_sectors / 2048))

# 1. Root filesystem content: about half of the root partition.
node "$here/make-content.mjs" "$work/root" "$work/stale.bin" "$work/boot" $((root_mib / 2)) $((root_mib))

# 2. The card: stale data first (what deleted files leave behind), then the table.
rm -f "$out"
truncate -s "${size_mib}M" "$out"
dd if="$work/stale.bin" of="$out" bs=4M seek=$((root_start * 512)) oflag=seek_bytes conv=notrunc status=none
printf 'label: dos\nunit: sectors\n\nstart=%d, size=%d, type=c, bootable\nstart=%d, size=%d, type=83\n' \
  "$boot_start" "$boot_sectors" "$root_start" "$root_sectors" | sfdisk -q "$out"

# 3. FAT32 boot partition at its offset, files copied in with mtools.
mkfs.vfat -F 32 -s 1 -n BOOTFS --offset "$boot_start" "$out" $((boot_sectors / 2)) >/dev/null 2>&1
MTOOLS_SKIP_CHECK=1 mcopy -s -i "$out@@$((boot_start * 512))" "$work/boot/"* ::/

# 4. ext4 root at its offset, populated from the directory; nodiscard keeps the stale data.
mkfs.ext4 -q -F -L rootfs -E "offset=$((root_start * 512)),nodiscard" -d "$work/root" "$out" "${root_mib}M"
echo "built $out: ${size_mib} MiB, boot 256 MiB FAT32, root ${root_mib} MiB ext4 ($(du -sm "$work/root" | cut -f1) MiB used)"
