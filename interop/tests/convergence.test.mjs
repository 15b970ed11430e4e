// Two and then ten stock WebsocketProvider clients edit one Y.Text concurrently (inserts
// and deletes at random places) and converge; the REST API returns the same text.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { createFile, getFile, scene } from '../lib/api.mjs'
import { destroy, destroyAll, random, randomEdit, synced, until } from '../lib/clients.mjs'
import { Server } from '../lib/server.mjs'

let server
before(async () => { server = await new Server().start() })
after(async () => {
  destroyAll()
  await server.kill()
})

async function converge (count, rounds, seed) {
  const { owner, workspace, members } = await scene(server, { editor: 'editor' })
  const file = await createFile(server, owner.token, workspace.id, `many-${count}.txt`, 'seed text')
  const tokens = [owner.token, members.editor.token]
  const clients = []
  try {
    return await edit(clients, count, rounds, seed, file, tokens, owner)
  } finally {
    destroy(...clients)
  }
}

async function edit (clients, count, rounds, seed, file, tokens, owner) {
  for (let i = 0; i < count; i++) {
    clients.push(await synced(server, file.id, tokens[i % 2]))
  }
  for (const c of clients) assert.equal(c.text.toString(), 'seed text')
  const rand = random(seed)
  // Interleaved: every client edits in every round, all connected, nobody waits.
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < count; i++) randomEdit(clients[i], rand, `${i}.${round};`)
    if (round % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1))
  }
  await until(() => {
    const first = clients[0].text.toString()
    return clients.every((c) => c.text.toString() === first)
  }, `${count} clients converge`, 30000)
  const text = clients[0].text.toString()
  await until(async () => (await getFile(server, owner.token, file.id)).content === text,
    'GET /files/{id} returns the converged text')
  return text
}

test('two clients editing at once converge, and REST sees the same text', async () => {
  const text = await converge(2, 250, 7)
  assert.ok(text.length > 0)
})

test('ten clients editing at once converge, and REST sees the same text', async () => {
  await converge(10, 60, 11)
})
