import { useEffect, useState } from 'react'
import { api, setCSRF } from './api.js'
import Login from './Login.jsx'
import Overview from './Overview.jsx'
import Findings from './Findings.jsx'
import Exceptions from './Exceptions.jsx'
import Network from './Network.jsx'
import Events from './Events.jsx'
import Editor from './Editor.jsx'
import Images from './Images.jsx'

const pages = [
  { id: 'overview', title: 'Overview', component: Overview },
  { id: 'findings', title: 'Findings', component: Findings },
  { id: 'network', title: 'Network', component: Network },
  { id: 'images', title: 'Images', component: Images },
  { id: 'editor', title: 'Policy editor', component: Editor },
  { id: 'events', title: 'Events', component: Events },
  { id: 'exceptions', title: 'Exceptions', component: Exceptions },
]

// route reads "#/page?query" into { page, params }.
function route() {
  const h = window.location.hash.replace(/^#\/?/, '')
  const [page, query] = h.split('?')
  return { page: pages.some((p) => p.id === page) ? page : 'overview', params: new URLSearchParams(query || '') }
}

export default function App() {
  const [session, setSession] = useState(undefined)
  const [where, setWhere] = useState(route())
  const [sso, setSSO] = useState(false)

  useEffect(() => {
    const onHash = () => setWhere(route())
    window.addEventListener('hashchange', onHash)
    api.session().then((s) => { if (s && s.user) { setCSRF(s.csrf); setSession(s) } else { setSSO(!!(s && s.oidc)); setSession(null) } }).catch(() => setSession(null))
    return () => window.removeEventListener('hashchange', onHash)
  }, [])

  if (session === undefined) return <main className="loading"><p>Loading…</p></main>
  if (session === null) {
    return <Login sso={sso} onLogin={(s) => { setCSRF(s.csrf); setSession(s) }} />
  }
  const Page = pages.find((p) => p.id === where.page).component
  const logout = async () => {
    try { await api.logout() } finally {
      setCSRF('')
      setSession(null)
      // Offer single sign-on again when the server has it.
      api.session().then((s) => setSSO(!!(s && s.oidc))).catch(() => {})
    }
  }
  return (
    <div className="app">
      <header className="top">
        <span className="brand">Kordon</span>
        <nav aria-label="Pages">
          <ul>
            {pages.map((p) => (
              <li key={p.id}>
                <a href={'#/' + p.id} aria-current={p.id === where.page ? 'page' : undefined}>{p.title}</a>
              </li>
            ))}
          </ul>
        </nav>
        <span className="who">{session.user} ({session.role})</span>
        <button type="button" onClick={logout}>Log out</button>
      </header>
      <main id="main">
        <Page session={session} params={where.params} />
      </main>
    </div>
  )
}
