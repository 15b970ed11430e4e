// Awareness from one client reaches the others and disappears as soon as it disconnects
// (not after y-protocols' 30 s timeout).

import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'

import { createFile, scene } from '../lib/api.mjs'
import { destroy, destroyAll, synced, until } from '../lib/clients.mjs'
import { Server } from '../lib/server.mjs'

let server
before(async () => { server = await new Server().start() })
after(async () => {
  destroyAll()
  await server.kill()
})

test('awareness appears at the others and leaves with its client', async () => {
  const { owner, workspace, members } = await scene(server, { viewer: 'viewer' })
  const file = await createFile(server, owner.token, workspace.id, 'aware.txt', 'x')
  const ada = await synced(server, file.id, owner.token)
  const watcher = await synced(server, file.id, members.viewer.token)

  ada.provider.awareness.setLocalState({ user: { name: 'Ada' }, cursor: 3 })
  const adaId = ada.doc.clientID
  await until(() => watcher.provider.awareness.getStates().get(adaId)?.user?.name === 'Ada',
    "the watcher sees Ada's state")
  assert.equal(watcher.provider.awareness.getStates().get(adaId).cursor, 3)

  // The viewer's own awareness reaches Ada too: viewers may share presence.
  watcher.provider.awareness.setLocalState({ user: { name: 'Vic' } })
  await until(() => ada.provider.awareness.getStates().get(watcher.doc.clientID)?.user?.name === 'Vic',
    "Ada sees the viewer's state")

  const started = Date.now()
  ada.provider.ws.close() // the socket drops; no awareness goodbye is sent
  ada.provider.shouldConnect = false
  await until(() => !watcher.provider.awareness.getStates().has(adaId),
    "Ada's state is removed for the watcher", 5000)
  assert.ok(Date.now() - started < 5000)
  destroy(ada, watcher)
})
