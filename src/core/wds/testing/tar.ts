/**
 * Test helpers: build small tar files with tar-stream, with the member types and names a
 * test needs (folders, symlinks, odd names). Test-only.
 */
import { pack } from 'tar-stream'

export interface TestMember {
  name: string
  data?: string | Uint8Array
  type?: 'file' | 'directory' | 'symlink'
  linkname?: string
}

export async function packTar(members: TestMember[]): Promise<Buffer> {
  const tar = pack()
  const chunks: Buffer[] = []
  tar.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer)
  })
  const done = new Promise<void>((resolve, reject) => {
    tar.on('end', resolve)
    tar.on('error', reject)
  })
  for (const member of members) {
    const type = member.type ?? 'file'
    const body = member.data === undefined ? undefined : Buffer.from(member.data as string)
    await new Promise<void>((resolve, reject) => {
      const header = { name: member.name, type, linkname: member.linkname, mtime: new Date(0), mode: type === 'directory' ? 0o755 : 0o644 }
      if (type === 'file') tar.entry(header, body ?? Buffer.alloc(0), (error) => (error ? reject(error) : resolve()))
      else tar.entry(header, (error) => (error ? reject(error) : resolve()))
    })
  }
  tar.finalize()
  await done
  return Buffer.concat(chunks)
}
