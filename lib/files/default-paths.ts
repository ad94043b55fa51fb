// What a BirdNET station needs back after a new card: system config (with the
// station's systemd units and cron), the users' homes with BirdNET-Pi's config and
// scripts, and root's crontab.
export const DEFAULT_PATHS = ['/etc', '/home', '/root', '/var/spool/cron/crontabs', '/usr/local/bin']
// Recordings are left out: gigabytes of audio that grow every day, already in the
// weekly image, and described row by row in birds.db, which is copied every hour.
export const DEFAULT_EXCLUDES = [
  '**/BirdSongs/**',
  '**/.cache/**',
  '**/node_modules/**',
  '/home/*/BirdNET-Pi/birdnet/**',
  '**/*.swp',
]
