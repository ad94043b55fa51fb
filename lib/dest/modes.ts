import { chown } from 'node:fs/promises'

// Backups are private: what lands on the NAS is created 0600 (files) and 0700
// (directories), since snapshots hold /etc/shadow and configs with passwords. With
// a configured dest-group the group may read: 0640/0750 and that group. The
// originals' modes live in the manifests. Set once per run by the job.
let group: number | undefined

export function setDestGroup(gid: number | undefined): void {
  group = gid
}

export function fileMode(): number {
  return group === undefined ? 0o600 : 0o640
}

export function dirMode(): number {
  return group === undefined ? 0o700 : 0o750
}

// Gives a new file or directory to the dest-group; a squashed root may not chgrp,
// and the mode already keeps others out, so a refusal is not an error.
export async function applyDestGroup(p: string | Buffer): Promise<void> {
  if (group !== undefined) await chown(p, -1, group).catch(() => {})
}
