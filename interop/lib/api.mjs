// Just enough of Tandem's REST API to set the scene: users, a project, roles and files.

let counter = 0

async function call (server, method, path, token, body) {
  const response = await fetch(server.url + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {})
    },
    body: body ? JSON.stringify(body) : undefined
  })
  const text = await response.text()
  const json = text ? JSON.parse(text) : null
  if (!response.ok) {
    throw new Error(`${method} ${path} → ${response.status}: ${text}`)
  }
  return json
}

/** A newly registered user: { id, email, token }. */
export async function register (server, name = 'Tester') {
  counter += 1
  const email = `interop-${process.pid}-${Date.now()}-${counter}@example.com`
  const body = await call(server, 'POST', '/api/v1/auth/register', null, {
    email, password: 'correct horse 1', name
  })
  return { id: body.user.id, email, token: body.access_token }
}

/** A project owned by `owner` with one workspace, and members in the given roles. */
export async function scene (server, roles = {}) {
  const owner = await register(server, 'Owner')
  const project = await call(server, 'POST', '/api/v1/projects', owner.token, { name: 'Interop' })
  const workspace = await call(server, 'POST', `/api/v1/projects/${project.id}/workspaces`, owner.token, { name: 'Main' })
  const members = {}
  for (const [name, role] of Object.entries(roles)) {
    const user = await register(server, name)
    await call(server, 'POST', `/api/v1/projects/${project.id}/members`, owner.token, { email: user.email, role })
    members[name] = user
  }
  return { owner, project, workspace, members }
}

export async function createFile (server, token, workspaceId, path, content) {
  return call(server, 'POST', `/api/v1/workspaces/${workspaceId}/files`, token, { path, content })
}

export async function getFile (server, token, fileId) {
  return call(server, 'GET', `/api/v1/files/${fileId}`, token)
}
