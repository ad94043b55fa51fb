import { rm, statfs } from 'node:fs/promises'
import os from 'node:os'
import type { Logger } from 'pino'
import { acquireJobLock } from '../dest/job-lock.js'
import type { MountEntry } from '../system/mountinfo.js'
import { applyPolicy, type Policy } from './apply-policy.js'
import { scanBackups, type FoundBackup } from '../dest/scan-backups.js'
import { checkMounted } from '../dest/check-mount.js'
import { stationTree } from '../dest/layout.js'

export interface CleanupOptions {
  readonly dest: string
  readonly mount: string | undefined
  readonly station: string
  readonly policy: Policy
  readonly dryRun: boolean
}

export interface CleanupDecision {
  readonly backup: FoundBackup
  readonly action: 'keep' | 'remove'
  readonly reason: string
}

export interface CleanupResult {
  readonly decisions: readonly CleanupDecision[]
  readonly freedBytes: number
  /** Free space once the removals are done (projected in a dry run). */
  readonly availableBytes: number
  /** Set when the NAS has less free space than the next weekly image needs (newest x 1.2). */
  readonly spaceWarning: string | undefined
  /** Set when the clock was not trusted: nothing was removed. */
  readonly clockWarning: string | undefined
}

// `sd-backup cleanup`: applies the retention policy to this station's backups on the
// NAS. Only names the tool writes are considered; with dryRun nothing is removed.
export async function runCleanup(
  opts: CleanupOptions,
  ctx: {
    log: Logger
    now?: Date
    host?: string
    mountinfo?: readonly MountEntry[]
    alive?: (pid: number) => boolean
    signal?: AbortSignal
  },
): Promise<CleanupResult> {
  if (opts.mount !== undefined) await checkMounted(opts.mount, opts.dest, ctx.mountinfo)
  const stationDir = stationTree(opts.dest, opts.station).root
  const host = ctx.host ?? os.hostname()
  const lock = opts.dryRun ? undefined : await acquireJobLock(stationDir, 'cleanup', { host })
  try {
    const found = await scanBackups(stationDir, opts.station, host, ctx.alive)
    const result = applyPolicy(found, opts.policy, ctx.now ?? new Date())
    if (result.clockDoubt)
      ctx.log.warn(
        { reason: result.clockDoubt },
        `nothing removed: ${result.clockDoubt}; check the clock (timedatectl) and the database job`,
      )
    const decisions: CleanupDecision[] = found
      .map((b) => ({
        backup: b,
        action: result.remove.includes(b) ? ('remove' as const) : ('keep' as const),
        reason: result.reasons[b.name]!,
      }))
      .sort((a, b) => (a.backup.name < b.backup.name ? -1 : 1))
    let freedBytes = 0
    for (const d of decisions) {
      ctx.log.info(
        { backup: d.backup.name, action: d.action, reason: d.reason, dryRun: opts.dryRun },
        `${d.action} ${d.backup.name}: ${d.reason}`,
      )
      if (d.action !== 'remove' || opts.dryRun) continue
      ctx.signal?.throwIfAborted() // between removals: a backup is removed whole or not at all
      // Manifest first: if interrupted, what is left is an incomplete image, removed next time.
      for (const f of [...d.backup.files].reverse()) await rm(f, { recursive: true, force: true })
      freedBytes += d.backup.bytes
    }
    const fs = await statfs(opts.dest)
    const availableBytes =
      fs.bavail * fs.bsize +
      (opts.dryRun ? decisions.filter((d) => d.action === 'remove').reduce((n, d) => n + d.backup.bytes, 0) : 0)
    const newest = found
      .filter((b) => b.kind === 'image' && b.complete)
      .sort((a, b) => b.time.getTime() - a.time.getTime())[0]
    const needed = newest ? Math.ceil(newest.bytes * 1.2) : 0
    const spaceWarning =
      newest && availableBytes < needed
        ? `the NAS has ${availableBytes} bytes free, less than the next weekly image needs (~${needed}, the ` +
          `newest image x 1.2): free space or lower --keep-weekly`
        : undefined
    if (spaceWarning) ctx.log.warn({ availableBytes, needed }, spaceWarning)
    return { decisions, freedBytes, availableBytes, spaceWarning, clockWarning: result.clockDoubt }
  } finally {
    await lock?.release()
  }
}
