import { constants as fsc } from 'node:fs';
import { open } from 'node:fs/promises';

export type ReadResult = { readonly text: string } | { readonly tooLarge: number } | { readonly notAFile: true };

/**
 * Reads a manifest as UTF-8, at most `maxBytes` (a file that grows past the limit while being read is refused
 * too). Opens non-blocking and without following a symbolic link, so a FIFO or link swapped in after the scan
 * cannot hang the source or lead it elsewhere.
 */
export async function readLimited(path: string, maxBytes: number): Promise<ReadResult> {
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NONBLOCK | fsc.O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { notAFile: true };
    if (st.size > maxBytes) return { tooLarge: st.size };
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1));
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) return { tooLarge: total };
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
    }
    const text = Buffer.concat(chunks, total).toString('utf8');
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  } finally {
    await fh.close();
  }
}
