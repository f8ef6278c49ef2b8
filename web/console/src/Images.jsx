import { useEffect, useState } from 'react'
import { api } from './api.js'

const sevs = ['critical', 'high', 'medium', 'low', 'info']

// workloadHref opens a workload's findings.
export function workloadHref(w) {
  return `#/findings?namespace=${encodeURIComponent(w.namespace)}&name=${encodeURIComponent(w.name)}`
}

function Workloads({ list }) {
  return (
    <ul className="inline">
      {list.map((w) => (
        <li key={w.namespace + '/' + w.kind + '/' + w.name}>
          <a className="workload" href={workloadHref(w)}>{w.kind} {w.namespace}/{w.name}</a>
        </li>
      ))}
    </ul>
  )
}

function Counts({ row }) {
  return sevs.map((s) => <td key={s}>{row.severity[s] ? <span className={'sev sev-' + s}>{row.severity[s]}</span> : 0}</td>)
}

// ImageDetail lists one image's vulnerabilities, worst first.
function ImageDetail({ image }) {
  const [data, setData] = useState(null)
  const [error, setError] = useState('')
  useEffect(() => { setData(null); setError(''); api.imageVulns(image).then(setData).catch((e) => setError(e.message)) }, [image])
  if (error) return <p role="alert" className="error">{error}</p>
  if (!data) return <p>Loading…</p>
  return (
    <>
      <p><a href="#/images">All images</a></p>
      <h1 id="image-h">Image {data.image.split('@')[0]}<span className="sr-only">@{data.digest}</span></h1>
      <p><small className="code">{data.digest}</small></p>
      <p className="summary" id="image-summary">
        {data.vulns} vulnerabilities ({data.fixable} with a fix{data.excepted ? `, ${data.excepted} excepted` : ''}), run by {data.workloads.length} workload{data.workloads.length === 1 ? '' : 's'}
      </p>
      <Workloads list={data.workloads} />
      <table id="vulns-table">
        <caption className="sr-only">Vulnerabilities of {data.image}</caption>
        <thead><tr><th scope="col">Vulnerability</th><th scope="col">Severity</th><th scope="col">Package</th><th scope="col">Installed</th><th scope="col">Fixed in</th><th scope="col">Workloads</th><th scope="col">Details</th></tr></thead>
        <tbody>
          {data.items.map((v) => (
            <tr key={v.id + v.package + v.version}>
              <td>{v.id}{v.exception && <><br /><small className="excepted">excepted: {v.exception}</small></>}</td>
              <td><span className={'sev sev-' + v.severity}>{v.severity}</span></td>
              <td>{v.package} <small>({v.ecosystem})</small></td>
              <td>{v.version}</td>
              <td>{v.fixed || <small>no fix known</small>}</td>
              <td><Workloads list={v.workloads} /></td>
              <td><small>{v.message}</small></td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  )
}

export default function Images({ params }) {
  const image = params.get('image')
  const [filter, setFilter] = useState({ namespace: params.get('namespace') || '', severity: '', q: '' })
  const [applied, setApplied] = useState(filter)
  const [page, setPage] = useState(null)
  const [error, setError] = useState('')
  useEffect(() => {
    if (image) return
    const q = {}
    for (const [k, v] of Object.entries(applied)) if (v) q[k] = v
    setError('')
    api.images(q).then(setPage).catch((e) => setError(e.message))
  }, [applied, image])
  if (image) return <ImageDetail image={image} />
  const set = (k) => (e) => setFilter({ ...filter, [k]: e.target.value })
  return (
    <>
      <h1>Vulnerable images</h1>
      <p className="hint">The images the last rescan of each workload found vulnerable (KOR-IMG-VULN findings), worst first.</p>
      <form className="filters" role="search" id="images-filter" onSubmit={(e) => { e.preventDefault(); setApplied({ ...filter }) }}>
        <label>Namespace <input id="i-namespace" value={filter.namespace} onChange={set('namespace')} /></label>
        <label>At least
          <select id="i-severity" value={filter.severity} onChange={set('severity')}>
            <option value="">any severity</option>
            {sevs.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Image <input id="i-q" type="search" value={filter.q} onChange={set('q')} /></label>
        <button type="submit" id="i-apply">Apply</button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {page && (
        <p className="summary" id="images-summary" aria-live="polite">
          {page.total.toLocaleString('en')} images{page.total > page.images.length ? `, the worst ${page.images.length} shown` : ''} · {page.findings.toLocaleString('en')} current findings
          {page.truncated ? ' · the store holds more findings than one listing reads' : ''}
          {page.unreadable ? ` · ${page.unreadable} findings name no image` : ''}
        </p>
      )}
      {page && (
        <table id="images-table">
          <caption className="sr-only">Vulnerable images</caption>
          <thead><tr><th scope="col">Image</th>{sevs.map((s) => <th scope="col" key={s}>{s}</th>)}<th scope="col">Fixable</th><th scope="col">Workloads</th></tr></thead>
          <tbody>
            {page.images.map((im) => (
              <tr key={im.image}>
                <td><a className="image" href={'#/images?image=' + encodeURIComponent(im.image)}>{im.image.split('@')[0]}</a><br /><small>{im.digest.slice(0, 19)}</small></td>
                <Counts row={im} />
                <td>{im.fixable}</td>
                <td><Workloads list={im.workloads} /></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  )
}
