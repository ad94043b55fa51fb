import type { FileHandle } from 'node:fs/promises'

// A positioned write that retries short writes until every byte is down.
export async function writeFully(h: FileHandle, buf: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < buf.length;)
    done += (await h.write(buf, done, buf.length - done, position + done)).bytesWritten
}
