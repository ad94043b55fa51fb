import t from 'tap'
import { ownCopy } from '../../lib/workers/own-copy.js'

t.test('a copy owns its memory: never a slice of the shared pool, so it can be transferred', async (t) => {
  const pooled = Buffer.from('a small buffer from the pool')
  t.ok(pooled.buffer.byteLength > pooled.length, 'the original shares its ArrayBuffer')
  const c = ownCopy(pooled)
  t.ok(c.equals(pooled))
  t.equal(c.byteOffset, 0)
  t.equal(c.buffer.byteLength, c.length, 'the copy is its whole ArrayBuffer')
})
