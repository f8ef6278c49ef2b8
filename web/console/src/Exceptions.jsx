import { useEffect, useState } from 'react'
import { api } from './api.js'

export default function Exceptions({ session }) {
  const [list, setList] = useState(null)
  const [trail, setTrail] = useState([])
  const [error, setError] = useState('')
  const load = () => {
    api.exceptions(true).then((r) => setList(r.items)).catch((e) => setError(e.message))
    api.audit().then((r) => setTrail(r.items)).catch((e) => setError(e.message))
  }
  useEffect(load, [])
  const revoke = async (id) => {
    const reason = window.prompt('Why is the exception revoked?') || ''
    try { await api.revokeException(id, reason); load() } catch (e) { setError(e.message) }
  }
  return (
    <>
      <h1>Exceptions</h1>
      <p>Exceptions created here are stored with their author and an audit trail.
        {' '}<a href="/console/api/exceptions/export" download id="export">Export as an exceptions file</a> for <code>kordon scan --exceptions</code>.</p>
      {error && <p role="alert" className="error">{error}</p>}
      {list && (
        <table id="exceptions-table">
          <caption className="sr-only">Exceptions</caption>
          <thead><tr><th scope="col">ID</th><th scope="col">Rule</th><th scope="col">Applies to</th><th scope="col">Reason</th><th scope="col">Expires</th><th scope="col">Author</th><th scope="col">State</th></tr></thead>
          <tbody>
            {list.map((e) => (
              <tr key={e.id}>
                <td>{e.id}</td><td>{e.rule}</td>
                <td>{[e.kind || 'any kind', (e.namespace || '*') + '/' + (e.name || '*')].join(' ')}</td>
                <td>{e.reason}</td><td>{e.expires || 'never'}</td><td>{e.author}<br /><small>{e.created.slice(0, 10)}</small></td>
                <td>{e.revokedBy ? `revoked by ${e.revokedBy}`
                  : session.role === 'editor' ? <button type="button" onClick={() => revoke(e.id)}>Revoke</button> : 'active'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <h2>Audit trail</h2>
      <table id="audit-table">
        <thead><tr><th scope="col">Time</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Exception</th></tr></thead>
        <tbody>
          {trail.map((a) => <tr key={a.id}><td>{a.time.replace('T', ' ').slice(0, 19)}</td><td>{a.actor}</td><td>{a.action}</td><td>{a.exception}</td></tr>)}
        </tbody>
      </table>
    </>
  )
}
