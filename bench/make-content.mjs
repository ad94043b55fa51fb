// Content for bench/build-image.sh: a station's root filesystem (system files,
// logs, a BirdNET-like SQLite database, recordings), a boot partition, and the
// stale bytes of deleted recordings and logs that fill the rest of the partition.
// Deterministic: the same arguments give the same bytes.
//   node make-content.mjs ROOTDIR STALEFILE BOOTDIR USED_MIB PARTITION_MIB
import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  mkdirSync as mkdir,
  mkdirSync,
  readdirSync,
  statSync,
  writeFileSync,
  openSync,
  writeSync,
  closeSync,
} from 'node:fs'
import path from 'node:path'

const [root, staleFile, boot, usedMib, partMib] = process.argv.slice(2)
const MiB = 2 ** 20
const budget = Number(usedMib) * MiB
let seed = 42
const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32

// Audio-like: 16-bit PCM birdsong chirps over noise: compresses poorly, like real WAVs.
function wav(seconds, rate = 48000) {
  const n = seconds * rate
  const b = Buffer.alloc(44 + n * 2)
  b.write('RIFF', 0)
  b.writeUInt32LE(36 + n * 2, 4)
  b.write('WAVEfmt ', 8)
  b.writeUInt32LE(16, 16)
  b.writeUInt16LE(1, 20)
  b.writeUInt16LE(1, 22)
  b.writeUInt32LE(rate, 24)
  b.writeUInt32LE(rate * 2, 28)
  b.writeUInt16LE(2, 32)
  b.writeUInt16LE(16, 34)
  b.write('data', 36)
  b.writeUInt32LE(n * 2, 40)
  const f0 = 2000 + rnd() * 4000
  for (let i = 0; i < n; i++) {
    const t = i / rate
    const chirp = Math.sin(2 * Math.PI * (f0 + 1500 * Math.sin(t * 7)) * t) * (0.5 + 0.5 * Math.sin(t * 3))
    const v = chirp * 6000 + (rnd() - 0.5) * 3000
    b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v))), 44 + i * 2)
  }
  return b
}

function logText(bytes, day) {
  const lines = []
  let size = 0
  for (let i = 0; size < bytes; i++) {
    const l =
      `Nov ${day} ${String(i % 24).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}:${String((i * 7) % 60).padStart(2, '0')} zolder birdnet_analysis[${1000 + (i % 50)}]: ` +
      `detected ${['Turdus merula', 'Parus major', 'Erithacus rubecula', 'Fringilla coelebs'][i % 4]} confidence 0.${String(Math.floor(rnd() * 1000)).padStart(3, '0')} file=${i}.wav\n`
    lines.push(l)
    size += l.length
  }
  return lines.join('')
}

let used = 0
const put = (rel, data) => {
  const f = path.join(root, rel)
  mkdirSync(path.dirname(f), { recursive: true })
  writeFileSync(f, data)
  used += data.length
}

// System files: real binaries and text from this machine's /usr, about 40 % of the budget.
function copyTree(src, dst, limit) {
  const stack = [src]
  while (stack.length && used < limit) {
    const dir = stack.pop()
    let entries
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))
    } catch {
      continue
    }
    for (const e of entries) {
      if (used >= limit) break
      const p = path.join(dir, e.name)
      if (e.isDirectory()) stack.push(p)
      else if (e.isFile()) {
        const s = statSync(p)
        if (s.size > 8 * MiB) continue
        const to = path.join(dst, path.relative(src, p))
        mkdirSync(path.dirname(to), { recursive: true })
        try {
          copyFileSync(p, to)
          used += s.size
        } catch {
          /* unreadable: skip */
        }
      }
    }
  }
}
copyTree('/usr/lib', path.join(root, 'usr/lib'), budget * 0.3)
copyTree('/usr/share', path.join(root, 'usr/share'), budget * 0.4)

// Logs: a week of syslog-like lines.
for (let d = 20; d < 27; d++) put(`var/log/birdnet.log.${d}`, logText(Math.min(6 * MiB, budget * 0.015), d))

// The detections database, built by sqlite3 itself.
mkdirSync(path.join(root, 'home/pi/BirdNET-Pi/scripts'), { recursive: true })
const db = path.join(root, 'home/pi/BirdNET-Pi/scripts/birds.db')
const rows = Math.max(1000, Math.floor((budget * 0.08) / 120))
execFileSync('sqlite3', [
  db,
  `PRAGMA journal_mode=WAL; CREATE TABLE detections (Date DATE, Time TIME, Sci_Name VARCHAR(100), Com_Name VARCHAR(100), Confidence FLOAT, Lat FLOAT, Lon FLOAT, Cutoff FLOAT, Week INT, Sens FLOAT, Overlap FLOAT, File_Name VARCHAR(100));
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
INSERT INTO detections SELECT date('2025-01-01', '+' || (i / 400) || ' days'), time(i % 86400, 'unixepoch'),
 'Species ' || (i % 97), 'Bird ' || (i % 97), 0.5 + (i % 50) / 100.0, 52.1, 5.1, 0.7, i / 2800, 1.0, 0.0, 'Bird_' || i || '.mp3' FROM n;`,
])
used += statSync(db).size

// Recordings fill the rest of the budget.
for (let i = 0; used < budget; i++)
  put(`home/pi/BirdSongs/Extracted/By_Date/2025-11-${20 + (i % 7)}/Bird_${i}.wav`, wav(6))

// Boot partition: firmware-like binaries and a config.
mkdirSync(boot, { recursive: true })
writeFileSync(path.join(boot, 'config.txt'), 'dtparam=audio=on\ncamera_auto_detect=1\narm_64bit=1\n')
mkdir(path.join(boot, 'overlays'))
const blobs = readdirSync('/usr/bin')
  .sort()
  .map((f) => path.join('/usr/bin', f))
  .filter((p) => {
    try {
      return statSync(p).isFile()
    } catch {
      return false
    }
  })
blobs.slice(0, 8).forEach((p, i) => copyFileSync(p, path.join(boot, `kernel${i}.img`)))
blobs.slice(8, 40).forEach((p, i) => copyFileSync(p, path.join(boot, 'overlays', `overlay${i}.dtbo`)))

// Stale data for the whole root partition: old recordings and logs, as deleted files leave them.
const fd = openSync(staleFile, 'w')
const block = Buffer.concat([wav(20), Buffer.from(logText(MiB, 1))])
for (let off = 0; off < Number(partMib) * MiB; off += block.length)
  writeSync(fd, block, 0, Math.min(block.length, Number(partMib) * MiB - off), off)
closeSync(fd)
console.log(`content: ${(used / MiB).toFixed(0)} MiB in ${root}`)
