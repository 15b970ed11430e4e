// Hocuspocus with its defaults and no extensions (documents live in memory only).
import { Server } from '@hocuspocus/server'

const port = Number(process.env.HOCUSPOCUS_PORT ?? 1235)
const server = new Server({ port, address: '127.0.0.1', quiet: true })
await server.listen()
console.log(`hocuspocus listening on ws://127.0.0.1:${port}`)
