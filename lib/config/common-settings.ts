import os from 'node:os'
import { ConfigError } from '../errors.js'
import type { OptionValues } from './options.js'
import { setting } from './options.js'

// The settings every job reads the same way.

// The backup root on the NAS: required, with the same words everywhere.
export function requireDest(s: OptionValues): string {
  const dest = setting(s, 'dest')
  if (dest === undefined)
    throw new ConfigError('dest', 'is required: the backup root on the NAS (e.g. dest = /mnt/nas/backups, or --dest)')
  return dest
}

// --station, else the hostname without its domain; either must be usable in a path.
export function stationOf(s: OptionValues, hostname = os.hostname()): string {
  const station = setting(s, 'station') ?? hostname.split('.')[0] ?? ''
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(station)) {
    throw new ConfigError('station', `the hostname '${hostname}' is not usable as a station name; set station = NAME`)
  }
  return station
}
