// A viewer syncs and receives the text, but its edits reach neither the editors nor the
// stored document; a client with a bad token is closed with a 44xx code.

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

test("a viewer's edit does not reach others", async () => {
  const { owner, workspace, members } = await scene(server, { viewer: 'viewer', editor: 'editor' })
  const file = await createFile(server, owner.token, workspace.id, 'guarded.txt', 'original')
  const editor = await synced(server, file.id, members.editor.token)
  const viewer = await synced(server, file.id, members.viewer.token)
  assert.equal(viewer.text.toString(), 'original')

  viewer.text.insert(0, 'VANDAL ')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  assert.equal(editor.text.toString(), 'original')
  assert.equal((await getFile(server, owner.token, file.id)).content, 'original')

  // The viewer keeps receiving what editors write.
  editor.text.insert(8, '!')
  await until(() => viewer.text.toString().endsWith('original!'), "the viewer gets the editor's edit")
  destroy(editor, viewer)
})

test('a bad token is closed with a 44xx code', async () => {
  const { owner, workspace } = await scene(server)
  const file = await createFile(server, owner.token, workspace.id, 'locked.txt', '')
  const ws = new WebSocket(`${server.wsUrl}/${file.id}?token=forged`)
  const code = await new Promise((resolve) => ws.on('close', (code) => resolve(code)))
  assert.ok(code >= 4400 && code < 4500, `close code ${code}`)
  assert.equal(code, 4401)
})
