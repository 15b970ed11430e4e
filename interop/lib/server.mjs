// Starts, kills and restarts a real `tandem serve` process for the interop tests.
//
// TANDEM_BIN names the binary. TANDEM_DATABASE_URL, TANDEM_REDIS_URL and
// TANDEM_REDIS_PREFIX, when set, are handed to the server, so the same suite runs on the
// embedded default and on PostgreSQL + Redis.

import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

const PASSTHROUGH = ['TANDEM_DATABASE_URL', 'TANDEM_REDIS_URL', 'TANDEM_REDIS_PREFIX', 'RUST_LOG']

export class Server {
  constructor () {
    const bin = process.env.TANDEM_BIN
    if (!bin) {
      throw new Error('TANDEM_BIN must name the tandem binary (e.g. ../target/debug/tandem)')
    }
    this.bin = bin
    this.dir = mkdtempSync(join(tmpdir(), 'tandem-interop-'))
    this.log = join(this.dir, 'server.log')
    this.child = null
    this.url = null
  }

  /** Starts the server (again, after a kill, on the same data folder). */
  async start () {
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? this.dir,
      TANDEM_SIGNING_SECRET: 'interop-signing-secret-at-least-32-bytes-long',
      TANDEM_AUTH_RATE_LIMIT_PER_MINUTE: '100000',
      TANDEM_DATA_DIR: join(this.dir, 'data'),
      RUST_LOG: 'warn'
    }
    for (const name of PASSTHROUGH) {
      if (process.env[name]) env[name] = process.env[name]
    }
    const stderr = openSync(this.log, 'a')
    this.child = spawn(this.bin, ['serve', '--listen', '127.0.0.1:0'], {
      env,
      stdio: ['ignore', 'pipe', stderr]
    })
    const lines = createInterface({ input: this.child.stdout })
    this.url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listen line; log:\n${this.tail()}`)), 30000)
      this.child.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`the server exited (${code}); log:\n${this.tail()}`))
      })
      lines.on('line', (line) => {
        const found = line.match(/^tandem listening on (http:\/\/\S+)/)
        if (found) {
          clearTimeout(timer)
          resolve(found[1])
        }
      })
    })
    this.child.removeAllListeners('exit')
    return this
  }

  get wsUrl () {
    return this.url.replace('http://', 'ws://') + '/api/v1/collab'
  }

  /** SIGKILL: no shutdown, no goodbye. */
  async kill () {
    const child = this.child
    if (!child || child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }

  async restart () {
    await this.kill()
    return this.start()
  }

  tail () {
    try {
      return readFileSync(this.log, 'utf8').split('\n').slice(-30).join('\n')
    } catch {
      return '(no log)'
    }
  }
}
