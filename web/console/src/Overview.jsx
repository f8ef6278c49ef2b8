import { useEffect, useState } from 'react'
import { api } from './api.js'

const sevs = ['critical', 'high', 'medium', 'low', 'info']

function Bar({ value, max, label }) {
  const pct = max > 0 ? Math.round((100 * value) / max) : 0
  return <meter className="bar" min="0" max="100" value={pct} aria-label={label}>{pct}%</meter>
}

// Sparkline draws a score trend (0–100 per day; null: no data that day)
// as an SVG line; the label says the first and last scores.
function Sparkline({ values, label }) {
  const w = 112, h = 24
  const known = values.filter((v) => v !== null)
  // The scale runs from 10 below the lowest score (rounded down to 10) to 100.
  const lo = known.length ? Math.max(0, Math.floor((Math.min(...known) - 10) / 10) * 10) : 0
  const pts = values.map((v, i) => (v === null ? null : [Math.round((i * w) / Math.max(1, values.length - 1)), Math.round(h - 2 - ((h - 4) * (v - lo)) / (100 - lo))]))
  const text = known.length ? `${label}: ${known[0]}% to ${known[known.length - 1]}% over ${values.length} days (lowest ${Math.min(...known)}%)` : `${label}: no data`
  const segs = []
  let cur = []
  for (const p of pts) {
    if (p) cur.push(p.join(','))
    else if (cur.length) { segs.push(cur); cur = [] }
  }
  if (cur.length) segs.push(cur)
  return (
    <svg className="spark" width={w} height={h} viewBox={`0 0 ${w} ${h}`} role="img" aria-label={text}>
      <title>{text}</title>
      {segs.map((sg, i) => (sg.length > 1
        ? <polyline key={i} points={sg.join(' ')} fill="none" stroke="#0b5cad" strokeWidth="2" />
        : <circle key={i} cx={sg[0].split(',')[0]} cy={sg[0].split(',')[1]} r="2" fill="#0b5cad" />))}
    </svg>
  )
}

export default function Overview() {
  const [ov, setOv] = useState(null)
  const [error, setError] = useState('')
  const [allNS, setAllNS] = useState(false)
  useEffect(() => { api.overview().then(setOv).catch((e) => setError(e.message)) }, [])
  if (error) return <p role="alert" className="error">{error}</p>
  if (!ov) return <p>Loading…</p>
  const maxDay = Math.max(1, ...ov.trend.map((d) => d.findings + d.events))
  return (
    <>
      <h1>Overview</h1>
      <section className="cards" aria-label="Findings by severity" id="severity-cards">
        <div className="card"><span className="num">{ov.findings.toLocaleString('en')}</span><span>findings</span></div>
        {sevs.map((s) => (
          <a key={s} className={'card sev-' + s} href={'#/findings?severity=' + s}>
            <span className="num">{(ov.severity[s] || 0).toLocaleString('en')}</span><span>{s}</span>
          </a>
        ))}
        <div className="card"><span className="num">{ov.stats.records.toLocaleString('en')}</span><span>records stored</span></div>
      </section>
      <div className="grid">
        <section aria-labelledby="fw-h">
          <h2 id="fw-h">Compliance by framework</h2>
          <p className="hint">Share of the framework's checks without a stored finding; the trend scores each day's findings.</p>
          <table id="fw-table">
            <thead><tr><th scope="col">Framework</th><th scope="col">Checks</th><th scope="col">Failing</th><th scope="col">Score</th><th scope="col">14 days</th></tr></thead>
            <tbody>
              {ov.frameworks.map((f) => (
                <tr key={f.framework}><td>{f.framework}</td><td>{f.checks}</td><td>{f.failing}</td>
                  <td><Bar value={f.score} max={100} label={f.framework + ' score'} /> {f.score}%</td>
                  <td><Sparkline values={f.trend} label={f.framework} /></td></tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="ns-h">
          <h2 id="ns-h">Riskiest namespaces</h2>
          <table>
            <thead><tr><th scope="col">Namespace</th><th scope="col">Findings</th><th scope="col">Critical</th><th scope="col">High</th><th scope="col">Score</th></tr></thead>
            <tbody>
              {ov.namespaces.map((n) => (
                <tr key={n.namespace}>
                  <td><a href={'#/findings?namespace=' + encodeURIComponent(n.namespace)}>{n.namespace || '(cluster)'}</a></td>
                  <td>{n.findings.toLocaleString('en')}</td><td>{n.severity.critical || 0}</td><td>{n.severity.high || 0}</td><td>{n.score}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="risk-h">
          <h2 id="risk-h">Top risks</h2>
          <table>
            <thead><tr><th scope="col">Rule</th><th scope="col">Title</th><th scope="col">Severity</th><th scope="col">Findings</th></tr></thead>
            <tbody>
              {ov.topRisks.map((r) => (
                <tr key={r.ruleID}>
                  <td><a href={'#/findings?rule=' + encodeURIComponent(r.ruleID)}>{r.ruleID}</a></td>
                  <td>{r.title}</td><td><span className={'sev sev-' + r.severity}>{r.severity}</span></td><td>{r.findings.toLocaleString('en')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="trend-h">
          <h2 id="trend-h">Last 14 days</h2>
          <table>
            <thead><tr><th scope="col">Day</th><th scope="col">Findings</th><th scope="col">Events</th><th scope="col">Volume</th></tr></thead>
            <tbody>
              {ov.trend.map((d) => (
                <tr key={d.day}><td>{d.day}</td><td>{d.findings.toLocaleString('en')}</td><td>{d.events.toLocaleString('en')}</td>
                  <td><Bar value={d.findings + d.events} max={maxDay} label={'volume ' + d.day} /></td></tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="eng-h">
          <h2 id="eng-h">Events by engine</h2>
          <table>
            <thead><tr><th scope="col">Engine</th><th scope="col">Events</th></tr></thead>
            <tbody>{ov.engines.map((g) => <tr key={g.Key[0]}><td>{g.Key[0]}</td><td>{g.Count.toLocaleString('en')}</td></tr>)}</tbody>
          </table>
        </section>
        <section aria-labelledby="comp-h" className="wide">
          <h2 id="comp-h">Compliance by namespace</h2>
          <p className="hint">Per namespace, the share of each framework's checks that none of its findings fails (All: every framework's checks), lowest first.</p>
          <table id="ns-compliance">
            <thead><tr><th scope="col">Namespace</th><th scope="col">All</th>{ov.frameworks.map((f) => <th scope="col" key={f.framework}>{f.framework}</th>)}<th scope="col">14 days</th></tr></thead>
            <tbody>
              {ov.compliance.slice(0, allNS ? ov.compliance.length : 10).map((n) => (
                <tr key={n.namespace}>
                  <td><a href={'#/findings?namespace=' + encodeURIComponent(n.namespace)}>{n.namespace || '(cluster)'}</a></td>
                  <td>{n.score}%</td>
                  {ov.frameworks.map((f) => <td key={f.framework}>{n.frameworks[f.framework]}%</td>)}
                  <td><Sparkline values={n.trend} label={(n.namespace || 'cluster') + ' score'} /></td>
                </tr>
              ))}
            </tbody>
          </table>
          {ov.compliance.length > 10 && (
            <button type="button" id="ns-all" onClick={() => setAllNS(!allNS)}>{allNS ? 'Show the 10 lowest' : `Show all ${ov.compliance.length}`}</button>
          )}
        </section>
      </div>
    </>
  )
}
