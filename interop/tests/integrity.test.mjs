// A Yjs update that cannot integrate (structs of a client starting at a clock nobody has)
// is refused with 4400 and never stored or relayed: the server's text and what stock
// clients show stay the same.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import WebSocket from 'ws'

import { createFile, getFile, scene } from '../lib/api.mjs'
import { destroy, destroyAll, synced, until } from '../lib/clients.mjs'
import { Server } from '../lib/server.mjs'

let server
before(async () => { server = await new Server().start() })
after(async () => {
  destroyAll()
  await server.kill()
})

// Client 424242 inserts "abc" into the root text "content" at clock 12, with no clocks
// 0 to 11 anywhere: Yjs keeps it pending forever.
const FORGED = Buffer.from('0101b2f2190c040107636f6e74656e740361626300', 'hex')
// y-websocket framing: messageSync (0), messageYjsUpdate (2), the update's length, the update.
const MESSAGE = Buffer.concat([Buffer.from([0, 2, FORGED.length]), FORGED])

test('an update that cannot integrate is refused with 4400, and the stored text is what clients show', async () => {
  const { owner, workspace } = await scene(server)
  const file = await createFile(server, owner.token, workspace.id, 'integrity.txt', 'original')
  const watcher = await synced(server, file.id, owner.token)

  const ws = new WebSocket(`${server.wsUrl}/${file.id}?token=${owner.token}`)
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject) })
  ws.send(MESSAGE)
  const code = await new Promise((resolve) => ws.on('close', (code) => resolve(code)))
  assert.equal(code, 4400)

  // An editor's next edit goes through as usual.
  watcher.text.insert(8, '!')
  await until(async () => (await getFile(server, owner.token, file.id)).content === 'original!',
    "the editor's edit is stored")
  const stored = (await getFile(server, owner.token, file.id)).content
  const fresh = await synced(server, file.id, owner.token)
  assert.equal(fresh.text.toString(), stored)
  assert.equal(watcher.text.toString(), stored)
  destroy(watcher, fresh)
})

test('the refused update is not kept across a restart', async () => {
  const { owner, workspace } = await scene(server)
  const file = await createFile(server, owner.token, workspace.id, 'restart.txt', 'kept')
  const ws = new WebSocket(`${server.wsUrl}/${file.id}?token=${owner.token}`)
  await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject) })
  ws.send(MESSAGE)
  assert.equal(await new Promise((resolve) => ws.on('close', (code) => resolve(code))), 4400)
  await server.restart()
  assert.equal((await getFile(server, owner.token, file.id)).content, 'kept')
  const fresh = await synced(server, file.id, owner.token)
  assert.equal(fresh.text.toString(), 'kept')
  destroy(fresh)
})
