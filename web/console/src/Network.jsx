import { useEffect, useRef, useState } from 'react'
import cytoscape from 'cytoscape'
import { api } from './api.js'

// layoutOf picks the layout of one level. The namespaces level is drawn
// in concentric rings of 8, 16, 24… nodes, the namespaces with the most
// workloads in the middle (rings from rings()): deterministic and linear
// in the nodes, where the force-directed cose took most of a second for
// 47 namespaces. Node boxes include their
// labels, so neither nodes nor names overlap. A namespace's workloads
// (at most 60) keep cose; more are drawn on a grid.
function layoutOf(view) {
  if (view.nodes.some((n) => n.kind === 'Namespace')) {
    return {
      name: 'concentric', animate: false, avoidOverlap: true, nodeDimensionsIncludeLabels: true,
      minNodeSpacing: 12, spacingFactor: 1.05,
      concentric: (n) => -n.data('ring'),
      levelWidth: () => 1,
    }
  }
  return { name: view.nodes.length > 60 ? 'grid' : 'cose', animate: false }
}

// rings numbers the nodes' rings for the concentric layout: by workloads
// (most first, then by name), 8 in the first ring, 16 in the second…
function rings(nodes) {
  const order = [...nodes].sort((a, b) => (b.workloads || 0) - (a.workloads || 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
  const ring = new Map()
  let r = 0
  let left = 8
  for (const n of order) {
    if (left === 0) { r++; left = 8 * (r + 1) }
    ring.set(n.id, r)
    left--
  }
  return ring
}

// Graph draws one level of the map: namespaces (sized by workloads, red
// when some workload has no ingress policy) or one namespace's workloads.
function Graph({ view, onTap, selected }) {
  const ref = useRef(null)
  const cyRef = useRef(null)
  useEffect(() => {
    if (!view) return
    const ring = rings(view.nodes)
    const elements = [
      ...view.nodes.map((n) => ({
        data: { id: n.id, label: n.id, ring: ring.get(n.id), size: 20 + Math.min(60, 4 * Math.sqrt(n.workloads || 1)), open: n.unprotected > 0 ? 1 : 0, kind: n.kind },
      })),
      ...view.edges.filter((e) => e.src !== e.dst).map((e) => ({ data: { id: e.src + '>' + e.dst, source: e.src, target: e.dst, pairs: e.pairs, state: e.state || 'allowed' } })),
    ]
    const el = ref.current
    delete el.dataset.drawn
    const cy = cytoscape({
      container: el,
      elements,
      // data-drawn tells the browser tests that the layout has finished.
      layout: { ...layoutOf(view), stop: () => { el.dataset.drawn = String(view.nodes.length) } },
      style: [
        { selector: 'node', style: { label: 'data(label)', width: 'data(size)', height: 'data(size)', 'background-color': '#2f6fad', 'font-size': 10 } },
        { selector: 'node[open = 1]', style: { 'background-color': '#b3261e' } },
        { selector: 'node[kind = "Namespace"]', style: { shape: 'round-rectangle' } },
        { selector: 'node[kind = "external"]', style: { shape: 'diamond', 'background-color': '#555d66' } },
        { selector: 'node.picked', style: { 'border-width': 4, 'border-color': '#f2b705' } },
        { selector: 'edge', style: { width: 1, 'line-color': '#9aa5b1', 'target-arrow-shape': 'triangle', 'target-arrow-color': '#9aa5b1', 'curve-style': 'bezier', opacity: 0.6, 'line-style': 'dotted' } },
        { selector: 'edge[state = "observed"]', style: { width: 2.5, 'line-color': '#1d7a2a', 'target-arrow-color': '#1d7a2a', 'line-style': 'solid', opacity: 0.9 } },
        { selector: 'edge[state = "denied"]', style: { width: 3, 'line-color': '#c0172b', 'target-arrow-color': '#c0172b', 'line-style': 'dashed', opacity: 1 } },
      ],
      minZoom: 0.1,
      maxZoom: 4,
    })
    cy.on('tap', 'node', (ev) => onTap(ev.target.data()))
    cyRef.current = cy
    // The browser test reads the drawn nodes' bounding boxes through it.
    el.cy = cy
    return () => cy.destroy()
  }, [view])
  useEffect(() => {
    const cy = cyRef.current
    if (!cy) return
    cy.nodes().removeClass('picked')
    for (const id of selected) if (id) cy.getElementById(id).addClass('picked')
  }, [selected, view])
  return <div className="graph" ref={ref} role="img" aria-label="Network map: the table below lists the same nodes" />
}

function Side({ title, side }) {
  if (!side) return null
  return (
    <div>
      <h3>{title}</h3>
      {side.policies && side.policies.length > 0 ? (
        <ul>{side.policies.map((p) => <li key={p}>{p}</li>)}</ul>
      ) : <p>Not isolated: no policy selects it for this direction, so everything is allowed.</p>}
      {side.rules && side.rules.length > 0 && (
        <ul>{side.rules.map((r) => <li key={r.policy + r.rule}>{r.policy} rule {r.rule} matches: {r.ports.join(', ') || 'no port'}{r.source && <small> ({r.source})</small>}</li>)}</ul>
      )}
      {side.policies && side.policies.length > 0 && side.rules.length === 0 && <p>No rule of these policies matches: denied on this side.</p>}
    </div>
  )
}

export default function Network() {
  const [ns, setNs] = useState('')
  const [view, setView] = useState(null)
  const [error, setError] = useState('')
  const [src, setSrc] = useState('')
  const [dst, setDst] = useState('')
  const [port, setPort] = useState('')
  const [trace, setTrace] = useState(null)
  const [effective, setEffective] = useState(null)

  useEffect(() => {
    setView(null)
    api.map(ns).then(setView).catch((e) => setError(e.message))
  }, [ns])

  const pick = (id) => {
    if (!src || (src && dst)) { setSrc(id); setDst(''); setTrace(null) } else setDst(id)
  }
  const onTap = (n) => {
    if (n.kind === 'Namespace') setNs(n.id)
    else if (n.kind !== 'external') pick(n.id)
  }
  const runTrace = async (e) => {
    e.preventDefault()
    setError('')
    try { setTrace(await api.trace(src, dst, port)) } catch (err) { setError(err.message); setTrace(null) }
  }
  const showEffective = async (id) => {
    try { setEffective(await api.effective(id)) } catch (err) { setError(err.message) }
  }
  const workloads = view ? view.nodes.filter((n) => n.namespace) : []
  const namespaces = view ? view.nodes.filter((n) => n.kind === 'Namespace') : []
  return (
    <>
      <h1>Network map</h1>
      <p className="hint">
        {ns ? <>Workloads of <strong>{ns}</strong> and the namespaces they talk to. <button type="button" id="map-up" onClick={() => setNs('')}>All namespaces</button></>
          : 'Namespaces and the traffic their policies allow; red: some workload without an ingress policy. Open a namespace to see its workloads.'}
      </p>
      {error && <p role="alert" className="error">{error}</p>}
      {view && view.observed && (
        <p className="legend" id="flows-summary">
          <span className="key key-observed">observed and allowed</span> <span className="key key-denied">observed, the policies would deny</span> <span className="key key-allowed">allowed, never observed</span>
          {' · '}{view.observed.flows.toLocaleString('en')} flows since {view.observed.since.replace('T', ' ').slice(0, 16)} UTC
          {view.observed.unattributed > 0 && <>, {view.observed.unattributed.toLocaleString('en')} naming no workload of the inventory</>}
          {view.observed.unjudged > 0 && <>, {view.observed.unjudged.toLocaleString('en')} not judged (budget)</>}
          {view.observed.truncated && <>, more flows than one map reads</>}
        </p>
      )}
      <div className="netgrid">
        <div>
          <Graph view={view} onTap={onTap} selected={[src, dst]} />
          <form className="filters" onSubmit={runTrace} id="trace-form">
            <label>From <input id="t-src" value={src} onChange={(e) => setSrc(e.target.value)} placeholder="namespace/name" /></label>
            <label>To <input id="t-dst" value={dst} onChange={(e) => setDst(e.target.value)} placeholder="namespace/name or address" /></label>
            <label>Port <input id="t-port" value={port} onChange={(e) => setPort(e.target.value)} placeholder="tcp/80 (any)" /></label>
            <button type="submit" id="t-run">Trace</button>
          </form>
        </div>
        <div>
          {trace && (
            <section id="trace-result" aria-labelledby="trace-h">
              <h2 id="trace-h">{trace.src} → {trace.dst}: <span className={trace.allowed ? 'allowed' : 'denied'}>{trace.allowed ? 'allowed' : 'denied'}</span></h2>
              <p>Allowed ports: {trace.allowedPorts.join(', ') || 'none'}{trace.port && <> (asked: {trace.port})</>}</p>
              <Side title="Egress of the source" side={trace.egress} />
              <Side title="Ingress of the destination" side={trace.ingress} />
            </section>
          )}
          {effective && (
            <section id="effective" aria-labelledby="eff-h">
              <h2 id="eff-h">Effective policy of {effective.workload}</h2>
              <p>Ingress {effective.ingressIsolated ? 'isolated' : 'open (no policy)'}; egress {effective.egressIsolated ? 'isolated' : 'open (no policy)'}.</p>
              <ul>{effective.policies.map((p) => <li key={p.id}>{p.id} ({p.directions.join(', ')}; {p.ingressRules} ingress, {p.egressRules} egress rules){p.source && <small> {p.source}</small>}</li>)}</ul>
            </section>
          )}
        </div>
      </div>
      {view && view.observed && (
        <table id="denied-table">
          <caption>Observed connections the policies would deny</caption>
          <thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Flows</th><th scope="col">Would be denied</th></tr></thead>
          <tbody>{view.edges.filter((e) => e.state === 'denied').map((e) => (
            <tr key={e.src + '>' + e.dst}><td>{e.src}</td><td>{e.dst}</td><td>{e.flows}</td><td>{e.denied}</td></tr>
          ))}</tbody>
        </table>
      )}
      {view && !ns && (
        <table id="ns-table">
          <caption>Namespaces</caption>
          <thead><tr><th scope="col">Namespace</th><th scope="col">Workloads</th><th scope="col">Without ingress policy</th><th scope="col">Without egress policy</th></tr></thead>
          <tbody>{namespaces.map((n) => (
            <tr key={n.id}><td><button type="button" className="link" onClick={() => setNs(n.id)}>{n.id}</button></td><td>{n.workloads}</td><td>{n.unprotected}</td><td>{n.egressOpen}</td></tr>
          ))}</tbody>
        </table>
      )}
      {view && ns && (
        <table id="wl-table">
          <caption>Workloads of {ns}</caption>
          <thead><tr><th scope="col">Workload</th><th scope="col">Kind</th><th scope="col">Ingress policy</th><th scope="col">Flows seen</th><th scope="col">Trace</th></tr></thead>
          <tbody>{workloads.map((n) => (
            <tr key={n.id}>
              <td><button type="button" className="link" onClick={() => showEffective(n.id)}>{n.id}</button></td><td>{n.kind}</td>
              <td>{n.unprotected ? <span className="sev sev-high">none</span> : 'yes'}</td>
              <td>{n.observed === undefined ? '' : n.observed ? 'yes' : 'no'}</td>
              <td><button type="button" className="from" onClick={() => { setSrc(n.id); setTrace(null) }}>From</button>{' '}
                <button type="button" className="to" onClick={() => setDst(n.id)}>To</button></td>
            </tr>
          ))}</tbody>
        </table>
      )}
    </>
  )
}
