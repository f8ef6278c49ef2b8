import { useState } from 'react'
import { api } from './api.js'

// ExceptionForm creates an exception for a finding: by default for its
// rule and resource, which the user may widen with globs.
export default function ExceptionForm({ finding, onDone }) {
  const inMonths = new Date(Date.now() + 90 * 864e5).toISOString().slice(0, 10)
  const [e, setE] = useState({
    rule: finding.ruleID, kind: finding.resource.kind, namespace: finding.resource.namespace || '',
    name: finding.resource.name, reason: '', expires: inMonths,
  })
  const [error, setError] = useState('')
  const set = (k) => (ev) => setE({ ...e, [k]: ev.target.value })
  const submit = async (ev) => {
    ev.preventDefault()
    setError('')
    try {
      await api.createException(e)
      onDone(true)
    } catch (err) {
      setError(err.message)
    }
  }
  return (
    <aside className="panel" aria-labelledby="exc-h" id="exception-form">
      <h2 id="exc-h">Create exception</h2>
      <form onSubmit={submit}>
        <label>Rule <input id="e-rule" value={e.rule} onChange={set('rule')} required /></label>
        <label>Kind <input id="e-kind" value={e.kind} onChange={set('kind')} /></label>
        <label>Namespace <input id="e-namespace" value={e.namespace} onChange={set('namespace')} /></label>
        <label>Name <input id="e-name" value={e.name} onChange={set('name')} /></label>
        <label>Reason <textarea id="e-reason" value={e.reason} onChange={set('reason')} required /></label>
        <label>Expires (last day) <input id="e-expires" type="date" value={e.expires} onChange={set('expires')} /></label>
        {error && <p role="alert" className="error">{error}</p>}
        <button type="submit" id="e-save">Save exception</button>
        <button type="button" onClick={() => onDone(false)}>Cancel</button>
      </form>
    </aside>
  )
}
