// A large document reaches a joining client as several messages (so its 30 s liveness
// timer keeps being reset on a slow link), and stock Yjs rebuilds the same text from them.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import WebSocket from 'ws'
import * as Y from 'yjs'

import { createFile, getFile, scene } from '../lib/api.mjs'
import { client, destroy, destroyAll, random, synced, until } from '../lib/clients.mjs'
import { Server } from '../lib/server.mjs'

let server
before(async () => { server = await new Server().start() })
after(async () => {
  destroyAll()
  await server.kill()
})

/** Every message the server sends a raw client that asks for the whole document. */
async function initialMessages (fileId, token) {
  const ws = new WebSocket(`${server.wsUrl}/${fileId}?token=${token}`)
  ws.binaryType = 'nodebuffer'
  const messages = []
  await new Promise((resolve, reject) => {
    ws.on('open', () => ws.send(Uint8Array.of(0, 0, 1, 0))) // sync step 1, empty state
    ws.on('message', (data) => {
      messages.push(new Uint8Array(data))
      if (data[0] === 0 && data[1] === 1) resolve() // sync step 2 ends the sync
    })
    ws.on('close', (code) => reject(new Error(`closed with ${code}`)))
    ws.on('error', reject)
  })
  ws.removeAllListeners('close')
  ws.close()
  return messages
}

test('a large document arrives in several messages and rebuilds exactly', async () => {
  const { owner, workspace } = await scene(server)
  const file = await createFile(server, owner.token, workspace.id, 'large.txt', '')
  // Written offline in 1,500 separate edits, then synced as one update of about 3 MB.
  const writer = client(server, file.id, owner.token)
  writer.provider.disconnect()
  const rand = random(3)
  const line = 'x'.repeat(2000)
  for (let i = 0; i < 1500; i++) {
    writer.text.insert(Math.floor(rand() * (writer.text.length + 1)), `${i}:${line}\n`)
  }
  writer.provider.connect()
  const expected = writer.text.toString()
  await until(async () => (await getFile(server, owner.token, file.id)).content.length === expected.length,
    'the server stored the large document', 30000)

  const messages = await initialMessages(file.id, owner.token)
  const updates = messages.filter((m) => m[0] === 0 && (m[1] === 1 || m[1] === 2))
  assert.ok(updates.length >= 8, `${updates.length} sync messages`)
  assert.ok(updates.every((m) => m.length < 600 * 1024), 'no message is much above the chunk size')
  const doc = new Y.Doc()
  for (const m of updates) {
    const decoder = m.subarray(2)
    // varUint8Array: a varuint length, then the update.
    let length = 0; let shift = 0; let at = 0
    while (true) {
      const byte = decoder[at++]
      length += (byte & 0x7f) * 2 ** shift
      shift += 7
      if (byte < 0x80) break
    }
    Y.applyUpdate(doc, decoder.subarray(at, at + length))
  }
  assert.equal(doc.getText('content').toString(), expected)

  const reader = await synced(server, file.id, owner.token)
  assert.equal(reader.text.toString(), expected)
  destroy(writer, reader)
})
