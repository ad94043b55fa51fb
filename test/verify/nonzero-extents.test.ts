import t from 'tap'
import { nonZeroExtents } from '../../lib/verify/nonzero-extents.js'

t.test('non-zero 4 KiB blocks as [start, end) runs, adjacent blocks merged, a short tail included', async (t) => {
  const b = Buffer.alloc(6 * 4096 + 100)
  b[10] = 1 // block 0
  b[4096 + 5] = 1 // block 1: merges with 0
  b[4 * 4096] = 1 // block 4
  b[6 * 4096 + 99] = 1 // the 100-byte tail
  t.same(nonZeroExtents(b), [0, 8192, 4 * 4096, 5 * 4096, 6 * 4096, 6 * 4096 + 100])
  t.same(nonZeroExtents(Buffer.alloc(3 * 4096)), [], 'zeros are holes')
})
