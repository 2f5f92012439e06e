// The viewer's sign-in: a same-origin password grant; the token is kept for this tab only
// (sessionStorage), then the viewer page it came from is opened again.
const SESSION_KEY = 'radbridge.viewer.session'
const form = document.getElementById('sign-in')
const problem = document.getElementById('sign-in-error')

function nextPage () {
  const next = new URLSearchParams(window.location.search).get('next') || '/viewer/'
  // Only pages of the viewer itself: never an open redirect to another site or path.
  return next.startsWith('/viewer/') && !next.startsWith('/viewer/sign-in') ? next : '/viewer/'
}

form.addEventListener('submit', async (event) => {
  event.preventDefault()
  problem.textContent = ''
  let response
  try {
    response = await fetch('/viewer/sign-in', { method: 'POST', body: new FormData(form) })
  } catch (error) {
    problem.textContent = 'The gateway cannot be reached; check the connection and try again.'
    return
  }
  const body = await response.json().catch(() => ({}))
  if (!response.ok) {
    problem.textContent = body.message || `Sign-in failed (HTTP ${response.status}).`
    return
  }
  const expiresAt = Date.now() + Math.max(body.expires_in - 30, 0) * 1000
  window.sessionStorage.setItem(SESSION_KEY, JSON.stringify({ token: body.access_token, expires_at: expiresAt }))
  window.location.replace(nextPage())
})
