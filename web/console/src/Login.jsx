import { useState } from 'react'
import { api } from './api.js'

export default function Login({ onLogin, sso }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState('')
  const submit = async (e) => {
    e.preventDefault()
    setError('')
    try {
      onLogin(await api.login(token))
    } catch (err) {
      setError(err.message)
    }
  }
  return (
    <main className="login">
      <h1>Kordon console</h1>
      {sso && <p><a className="sso" id="sso" href="/console/oidc/login">Log in with single sign-on</a></p>}
      <form onSubmit={submit} id="login-form">
        <label htmlFor="token">Access token</label>
        <input id="token" type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} required />
        <button type="submit">Log in</button>
        {error && <p role="alert" className="error">{error}</p>}
      </form>
    </main>
  )
}
