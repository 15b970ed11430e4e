// Stock y-websocket clients and the waiting helpers the tests share.

import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import * as Y from 'yjs'

/** Every client not yet destroyed, so a failing test cannot leave timers running. */
const live = new Set()

/** A provider on a fresh document, connected to the file, not yet synced. */
export function client (server, fileId, token) {
  const doc = new Y.Doc()
  const provider = new WebsocketProvider(server.wsUrl, fileId, doc, {
    WebSocketPolyfill: WebSocket,
    params: { token },
    disableBc: true,
    maxBackoffTime: 500
  })
  const text = doc.getText('content')
  const c = { doc, provider, text }
  live.add(c)
  return c
}

/** A client that has synced with the server. */
export async function synced (server, fileId, token) {
  const c = client(server, fileId, token)
  await until(() => c.provider.synced, 'the client syncs')
  return c
}

/** Polls `check` until it holds; fails with `what` after `ms`. */
export async function until (check, what, ms = 10000) {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** A pseudo-random source with a seed, so a failing run can be replayed. */
export function random (seed) {
  let state = seed >>> 0
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0
    return state / 2 ** 32
  }
}

/** One random edit: an insert (two in three) or a delete, at a random place. */
export function randomEdit (c, rand, tag) {
  const length = c.text.length
  if (length > 0 && rand() < 1 / 3) {
    const at = Math.floor(rand() * length)
    c.text.delete(at, Math.min(1 + Math.floor(rand() * 3), length - at))
  } else {
    c.text.insert(Math.floor(rand() * (length + 1)), tag)
  }
}

/** Disconnects the clients and stops their timers (awareness keeps an interval per doc). */
export function destroy (...clients) {
  for (const c of clients) {
    c.provider.destroy()
    c.doc.destroy()
    live.delete(c)
  }
}

/** Destroys whatever clients a test left behind. */
export function destroyAll () {
  destroy(...live)
}
