import { useEffect, useState } from 'react'
import { api } from './api.js'
import ExceptionForm from './ExceptionForm.jsx'

const fields = ['severity', 'namespace', 'rule', 'kind', 'name', 'q', 'excepted', 'group']

function fromParams(params) {
  const f = {}
  for (const k of fields) f[k] = params.get(k) || ''
  return f
}

export default function Findings({ session, params }) {
  const [filter, setFilter] = useState(fromParams(params))
  const [applied, setApplied] = useState(fromParams(params))
  const [cursors, setCursors] = useState([''])
  const [page, setPage] = useState(null)
  const [error, setError] = useState('')
  const [excepting, setExcepting] = useState(null)
  const [rule, setRule] = useState(null)

  useEffect(() => { const f = fromParams(params); setFilter(f); setApplied(f); setCursors(['']) }, [params.toString()])

  const cursor = cursors[cursors.length - 1]
  useEffect(() => {
    const q = { limit: '50' }
    for (const k of fields) if (applied[k]) q[k] = applied[k]
    if (cursor) q.cursor = cursor
    setError('')
    api.findings(q).then(setPage).catch((e) => setError(e.message))
  }, [applied, cursor])

  const submit = (e) => { e.preventDefault(); setApplied({ ...filter }); setCursors(['']) }
  const set = (k) => (e) => setFilter({ ...filter, [k]: e.target.value })
  const showRule = async (id) => { try { setRule(await api.rule(id)) } catch (e) { setRule({ id, error: e.message }) } }

  return (
    <>
      <h1>Findings</h1>
      <form className="filters" onSubmit={submit} id="findings-filter" role="search">
        <label>Severity
          <select id="f-severity" value={filter.severity} onChange={set('severity')}>
            <option value="">any</option>
            {['critical', 'high', 'medium', 'low', 'info'].map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Namespace <input id="f-namespace" value={filter.namespace} onChange={set('namespace')} /></label>
        <label>Rule <input id="f-rule" value={filter.rule} onChange={set('rule')} /></label>
        <label>Kind <input id="f-kind" value={filter.kind} onChange={set('kind')} /></label>
        <label>Name <input id="f-name" value={filter.name} onChange={set('name')} /></label>
        <label>Search <input id="f-q" type="search" value={filter.q} onChange={set('q')} /></label>
        <label>Exceptions
          <select id="f-excepted" value={filter.excepted} onChange={set('excepted')}>
            <option value="">all findings</option>
            <option value="only">only excepted</option>
            <option value="hide">hide excepted</option>
          </select>
        </label>
        <label>Group by
          <select id="f-group" value={filter.group} onChange={set('group')}>
            <option value="">no grouping</option>
            {['rule', 'severity', 'namespace', 'kind', 'name', 'engine'].map((g) => <option key={g} value={g}>{g}</option>)}
          </select>
        </label>
        <button type="submit" id="f-apply">Apply</button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {page && (
        <p className="summary" id="findings-summary" aria-live="polite">
          {page.total >= 0 ? `${page.total.toLocaleString('en')} findings` : `search read ${page.scanned.toLocaleString('en')} findings`}
          {!applied.group && ` · page ${cursors.length}`}
        </p>
      )}
      {page && page.groups && (
        <table id="groups-table">
          <caption>Findings grouped by {applied.group}</caption>
          <thead><tr><th scope="col">{applied.group}</th><th scope="col">Findings</th></tr></thead>
          <tbody>
            {page.groups.map((g) => (
              <tr key={g.Key[0]}>
                <td><a href={`#/findings?${applied.group}=${encodeURIComponent(g.Key[0])}`}>{g.Key[0] || '(none)'}</a></td>
                <td>{g.Count.toLocaleString('en')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {page && !page.groups && (
        <>
          <table id="findings-table">
            <caption className="sr-only">Findings</caption>
            <thead><tr><th scope="col">Severity</th><th scope="col">Rule</th><th scope="col">Resource</th><th scope="col">Message</th><th scope="col">Exception</th></tr></thead>
            <tbody>
              {page.items.map((f) => (
                <tr key={f.id}>
                  <td><span className={'sev sev-' + f.severity}>{f.severity}</span></td>
                  <td><button type="button" className="link" onClick={() => showRule(f.ruleID)}>{f.ruleID}</button><br /><small>{f.title}</small></td>
                  <td>{f.resource.kind} {f.resource.namespace ? f.resource.namespace + '/' : ''}{f.resource.name}
                    {f.location && <><br /><small>{f.location.file}{f.location.line ? ':' + f.location.line : ''}</small></>}</td>
                  <td>{f.message}{f.remediation && <><br /><small>Fix: {f.remediation}</small></>}</td>
                  <td>{f.exception ? <small className="excepted">{f.exception}</small>
                    : session.role === 'editor' && (
                      <button type="button" className="except" onClick={() => setExcepting(f)}>Create exception</button>)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages of findings">
            <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>Previous</button>
            <button type="button" id="next-page" disabled={!page.next} onClick={() => setCursors([...cursors, page.next])}>Next</button>
          </nav>
        </>
      )}
      {rule && (
        <aside className="panel" aria-labelledby="rule-h" id="rule-panel">
          <h2 id="rule-h">{rule.id} {rule.title}</h2>
          {rule.error ? <p className="error">{rule.error}</p> : (
            <>
              <p>{rule.description}</p>
              <p><strong>Remediation:</strong> {rule.remediation}</p>
              {rule.controls && <p><strong>Controls:</strong> {rule.controls.join(', ')}</p>}
            </>
          )}
          <button type="button" onClick={() => setRule(null)}>Close</button>
        </aside>
      )}
      {excepting && (
        <ExceptionForm finding={excepting} onDone={(created) => {
          setExcepting(null)
          if (created) setApplied({ ...applied })
        }} />
      )}
    </>
  )
}
