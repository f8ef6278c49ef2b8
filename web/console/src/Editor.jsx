import { useEffect, useRef, useState } from 'react'
import { api } from './api.js'

const example = `apiVersion: kordon.dev/v1alpha1
kind: NetworkIntent
metadata:
  name: example
groups:
  web:
    namespaces: [shop]
    labels: {app: web}
  api:
    namespaces: [shop]
    labels: {app: api}
zones:
  - namespaces: [shop]
rules:
  - from: web
    to: api
    ports: [tcp/8080]
`

// Editor edits a network intent (the kordon netpol compile format): the
// server validates and compiles it as you type, and shows the generated
// NetworkPolicies and what they would change in the inventory.
export default function Editor() {
  const [intent, setIntent] = useState(example)
  const [preview, setPreview] = useState(null)
  const [error, setError] = useState('')
  const [busy, setBusy] = useState(false)
  const timer = useRef(null)
  const run = async (text) => {
    setBusy(true)
    try { setPreview(await api.preview(text)); setError('') } catch (e) { setError(e.message); setPreview(null) } finally { setBusy(false) }
  }
  useEffect(() => {
    clearTimeout(timer.current)
    timer.current = setTimeout(() => run(intent), 700)
    return () => clearTimeout(timer.current)
  }, [intent])
  return (
    <>
      <h1>Policy editor</h1>
      <p className="hint">A network intent in the <code>kordon netpol compile</code> format. It is checked and compiled on the server as you type; nothing is applied.</p>
      <div className="netgrid">
        <div>
          <label htmlFor="intent">Intent (YAML)</label>
          <textarea id="intent" className="code" spellCheck="false" value={intent} onChange={(e) => setIntent(e.target.value)} rows={24} />
          <button type="button" id="preview" onClick={() => run(intent)}>Preview</button> {busy && <span>Compiling…</span>}
          {error && <p role="alert" className="error" id="intent-error">{error}</p>}
        </div>
        <div>
          {preview && (
            <section aria-labelledby="gen-h">
              <h2 id="gen-h">Generated NetworkPolicies</h2>
              {preview.notes.length > 0 && <ul>{preview.notes.map((n) => <li key={n}>{n}</li>)}</ul>}
              <pre className="code" id="generated" tabIndex={0}>{preview.policies}</pre>
            </section>
          )}
        </div>
      </div>
      {preview && (
        <section aria-labelledby="diff-h">
          <h2 id="diff-h">Connectivity diff</h2>
          <p id="diff-summary">{preview.total === 0 ? 'No connection changes.' : `${preview.total.toLocaleString('en')} connections change${preview.total > preview.changes.length ? ` (first ${preview.changes.length} shown)` : ''}.`}</p>
          {preview.changes.length > 0 && (
            <table id="diff-table">
              <thead><tr><th scope="col">Change</th><th scope="col">From</th><th scope="col">To</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
              <tbody>{preview.changes.map((c) => (
                <tr key={c.src + '>' + c.dst}><td><span className={c.change === 'added' ? 'allowed' : 'denied'}>{c.change}</span></td>
                  <td>{c.src}</td><td>{c.dst}</td><td>{c.old.join(', ') || 'denied'}</td><td>{c.new.join(', ') || 'denied'}</td></tr>
              ))}</tbody>
            </table>
          )}
        </section>
      )}
    </>
  )
}
