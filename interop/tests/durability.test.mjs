// Edits survive a kill -9 of the server; a client offline for a while syncs its offline
// edits when it reconnects.

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { createFile, getFile, scene } from '../lib/api.mjs'
import { destroy, destroyAll, synced, until } from '../lib/clients.mjs'
import { Server } from '../lib/server.mjs'

let server
before(async () => { server = await new Server().start() })
after(async () => {
  destroyAll()
  await server.kill()
})

test('after a kill -9 and a restart the text is intact', async () => {
  const { owner, workspace, members } = await scene(server, { editor: 'editor' })
  const file = await createFile(server, owner.token, workspace.id, 'durable.txt', '')
  const a = await synced(server, file.id, owner.token)
  const b = await synced(server, file.id, members.editor.token)
  for (let i = 0; i < 100; i++) {
    (i % 2 ? a : b).text.insert(0, `${i};`)
  }
  await until(() => a.text.toString() === b.text.toString() && a.text.length > 0 &&
    a.text.toString().split(';').length === 101, 'both clients have all 100 edits')
  const text = a.text.toString()
  destroy(a, b)

  await server.restart()
  const fresh = await synced(server, file.id, owner.token)
  assert.equal(fresh.text.toString(), text)
  assert.equal((await getFile(server, owner.token, file.id)).content, text)
  destroy(fresh)
})

test('a client offline for a while syncs its offline edits on reconnect', async () => {
  const { owner, workspace, members } = await scene(server, { editor: 'editor' })
  const file = await createFile(server, owner.token, workspace.id, 'offline.txt', 'base')
  const away = await synced(server, file.id, owner.token)
  const online = await synced(server, file.id, members.editor.token)

  away.provider.disconnect()
  await until(() => !away.provider.wsconnected, 'the client is offline')
  away.text.insert(0, 'offline-1 ')
  away.text.insert(away.text.length, ' offline-2')
  online.text.insert(4, ' online')
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.ok(!online.text.toString().includes('offline'))

  away.provider.connect()
  const wanted = (t) => ['offline-1', 'offline-2', 'online', 'base'].every((w) => t.includes(w))
  await until(() => wanted(away.text.toString()) && away.text.toString() === online.text.toString(),
    'both converge with every edit')
  await until(async () => (await getFile(server, owner.token, file.id)).content === online.text.toString(),
    'the server stored the offline edits')
  destroy(away, online)
})

