import { useEffect, useState } from 'react'
import { api } from './api.js'

// The engines with an events page, and what their page is called.
export const engines = [
  { id: 'waf', title: 'WAF: blocked requests' },
  { id: 'sensor', title: 'Runtime alerts' },
  { id: 'admission', title: 'Admission decisions' },
  { id: 'intel', title: 'Threat-intelligence matches' },
  { id: 'flow', title: 'Observed flows' },
]

function actor(a) {
  if (!a) return ''
  return [a.user, a.address, a.process].filter(Boolean).join(' ')
}

function details(attrs) {
  if (!attrs) return ''
  return Object.entries(attrs).slice(0, 6).map(([k, v]) => `${k}=${v}`).join(' ')
}

export default function Events({ params }) {
  const engine = params.get('engine') || 'waf'
  const [q, setQ] = useState('')
  const [applied, setApplied] = useState('')
  const [cursors, setCursors] = useState([''])
  const [page, setPage] = useState(null)
  const [error, setError] = useState('')
  useEffect(() => { setCursors(['']); setApplied(''); setQ('') }, [engine])
  const cursor = cursors[cursors.length - 1]
  useEffect(() => {
    const p = { type: 'event', engine, limit: '50' }
    if (applied) p.q = applied
    if (cursor) p.cursor = cursor
    setError('')
    api.findings(p).then(setPage).catch((e) => setError(e.message))
  }, [engine, applied, cursor])
  const title = (engines.find((e) => e.id === engine) || { title: engine }).title
  return (
    <>
      <h1>{title}</h1>
      <nav aria-label="Event kinds" className="tabs">
        <ul>{engines.map((e) => <li key={e.id}><a href={'#/events?engine=' + e.id} aria-current={e.id === engine ? 'page' : undefined}>{e.title}</a></li>)}</ul>
      </nav>
      <form className="filters" role="search" onSubmit={(e) => { e.preventDefault(); setApplied(q); setCursors(['']) }}>
        <label>Search <input id="ev-q" type="search" value={q} onChange={(e) => setQ(e.target.value)} /></label>
        <button type="submit" id="ev-apply">Apply</button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {page && <p className="summary" aria-live="polite">{page.total >= 0 ? `${page.total.toLocaleString('en')} events` : `search read ${page.scanned.toLocaleString('en')} events`} · page {cursors.length}</p>}
      {page && (
        <table id="events-table">
          <caption className="sr-only">{title}</caption>
          <thead><tr><th scope="col">Time</th><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Action</th><th scope="col">Workload</th><th scope="col">Who</th><th scope="col">Details</th></tr></thead>
          <tbody>
            {page.items.map((e) => (
              <tr key={e.id}>
                <td>{e.time.replace('T', ' ').slice(0, 19)}</td>
                <td><span className={'sev sev-' + e.severity}>{e.severity}</span></td>
                <td>{e.ruleID}</td><td>{e.action}</td>
                <td><a className="workload" href={`#/findings?namespace=${encodeURIComponent(e.resource.namespace || '')}&q=${encodeURIComponent(e.resource.name)}`}>
                  {e.resource.kind} {e.resource.namespace ? e.resource.namespace + '/' : ''}{e.resource.name}</a></td>
                <td>{actor(e.actor)}</td>
                <td>{e.message}<br /><small>{details(e.attributes)}</small></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && (
        <nav className="pager" aria-label="Pages of events">
          <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <button type="button" disabled={!page.next} onClick={() => setCursors([...cursors, page.next])}>Next</button>
        </nav>
      )}
    </>
  )
}
