// Calls to the console's page-data API. The session lives in an HttpOnly
// cookie; state-changing calls echo the session's CSRF token.
let csrf = ''

export function setCSRF(token) { csrf = token || '' }

async function call(method, path, body) {
  const opts = { method, credentials: 'same-origin', headers: {} }
  if (method !== 'GET') {
    opts.headers['X-Kordon-CSRF'] = csrf
  }
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json'
    opts.body = JSON.stringify(body)
  }
  const res = await fetch(path, opts)
  if (res.status === 204) return null
  const text = await res.text()
  let data = null
  try { data = text ? JSON.parse(text) : null } catch { data = text }
  if (!res.ok) {
    const err = new Error((data && data.error) || `HTTP ${res.status}`)
    err.status = res.status
    throw err
  }
  return data
}

export const api = {
  session: () => call('GET', '/console/api/session'),
  login: (token) => call('POST', '/console/login', { token }),
  logout: () => call('POST', '/console/logout'),
  overview: () => call('GET', '/console/api/overview'),
  findings: (params) => call('GET', '/console/api/findings?' + new URLSearchParams(params).toString()),
  rule: (id) => call('GET', '/console/api/rules/' + encodeURIComponent(id)),
  images: (params) => call('GET', '/console/api/images?' + new URLSearchParams(params).toString()),
  imageVulns: (image) => call('GET', '/console/api/images/vulns?image=' + encodeURIComponent(image)),
  map: (ns) => call('GET', '/console/api/map' + (ns ? '?namespace=' + encodeURIComponent(ns) : '')),
  trace: (src, dst, port) => call('GET', '/console/api/trace?' + new URLSearchParams({ src, dst, port }).toString()),
  effective: (id) => call('GET', '/console/api/effective?workload=' + encodeURIComponent(id)),
  preview: (intent) => call('POST', '/console/api/intent/preview', { intent }),
  testRules: (rules, fixture) => call('POST', '/console/api/rules/test', { rules, fixture }),
  exceptions: (all) => call('GET', '/console/api/exceptions' + (all ? '?all=1' : '')),
  audit: () => call('GET', '/console/api/exceptions/audit'),
  createException: (e) => call('POST', '/console/api/exceptions', e),
  revokeException: (id, reason) => call('POST', `/console/api/exceptions/${id}/revoke`, { reason }),
}
