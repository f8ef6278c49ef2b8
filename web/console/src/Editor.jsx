import { useEffect, useRef, useState } from 'react'
import { api } from './api.js'
import CodeEditor from './CodeEditor.jsx'

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

const exampleRule = `id: ACME-IMG-001
title: Image from outside the company registry
description: Images come from registry.acme.example only.
severity: high
remediation: Push the image to registry.acme.example and use it from there.
match:
  workloads: true
variables:
  - name: registry
    expression: "'registry.acme.example/'"
validations:
  - expression: variables.allContainers.all(c, c.image.startsWith(variables.registry))
    messageExpression: "'images from elsewhere: ' + variables.allContainers.filter(c, !c.image.startsWith(variables.registry)).map(c, c.image).join(', ')"
`

const exampleFixture = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: docker.io/library/nginx:1.27
`

// RuleTest evaluates CEL rules against a fixture on the server.
function RuleTest() {
  const [rules, setRules] = useState(exampleRule)
  const [fixture, setFixture] = useState(exampleFixture)
  const [result, setResult] = useState(null)
  const [error, setError] = useState('')
  const run = async () => {
    setError('')
    try { setResult(await api.testRules(rules, fixture)) } catch (e) { setError(e.message); setResult(null) }
  }
  return (
    <section aria-labelledby="rt-h">
      <h2 id="rt-h">Test CEL rules</h2>
      <p className="hint">A rule file (docs/rules.md) and Kubernetes objects to test it on; evaluated on the server by the same engine as kordon scan.</p>
      <div className="netgrid">
        <div><p className="label" aria-hidden="true">Rules (YAML)</p>
          <CodeEditor id="rule-text" label="Rules (YAML)" value={rules} onChange={setRules} errors={error ? [error] : (result ? result.errors : [])} /></div>
        <div><p className="label" aria-hidden="true">Fixture (YAML)</p>
          <CodeEditor id="fixture-text" label="Fixture (YAML)" value={fixture} onChange={setFixture} errors={[]} /></div>
      </div>
      <button type="button" id="rt-run" onClick={run}>Test rules</button>
      {error && <p role="alert" className="error" id="rt-error">{error}</p>}
      {result && (
        <div id="rt-result">
          <p>{result.findings.length === 0 ? 'No finding: every object passes.' : `${result.findings.length} finding(s):`}</p>
          <ul>{result.findings.map((f, i) => <li key={i}><strong>{f.ruleID}</strong> {f.resource.kind} {f.resource.namespace ? f.resource.namespace + '/' : ''}{f.resource.name}: {f.message}</li>)}</ul>
          {result.errors.length > 0 && <ul>{result.errors.map((e) => <li key={e} className="error">{e}</li>)}</ul>}
        </div>
      )}
    </section>
  )
}

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
  // The first preview runs at once; edits wait for a 700 ms typing pause.
  const first = useRef(true)
  useEffect(() => {
    clearTimeout(timer.current)
    if (first.current) {
      first.current = false
      run(intent)
      return undefined
    }
    timer.current = setTimeout(() => run(intent), 700)
    return () => clearTimeout(timer.current)
  }, [intent])
  return (
    <>
      <h1>Policy editor</h1>
      <p className="hint">A network intent in the <code>kordon netpol compile</code> format. It is checked and compiled on the server as you type; nothing is applied.</p>
      <div className="netgrid">
        <div>
          <p className="label" aria-hidden="true">Intent (YAML)</p>
          <CodeEditor id="intent" label="Intent (YAML)" value={intent} onChange={setIntent} errors={error ? [error] : []} />
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
      <RuleTest />
    </>
  )
}
