// RadBridge start-up for the OHIF Viewer, run before OHIF's own code.
//
// It replaces OHIF's inline scripts (the page allows no inline script), and starts OHIF's entry
// bundle only for a signed-in user. The token from the viewer's sign-in page lives in this tab's
// sessionStorage; it is handed to OHIF as the `token` query parameter, which OHIF reads into its
// authentication service (every DICOMweb request then carries `Authorization: Bearer ...`) and
// removes from the address bar at once. It is added here with history.replaceState, so the
// token never travels in a URL over the network.
(function () {
  'use strict'
  var SESSION_KEY = 'radbridge.viewer.session'
  var script = document.currentScript
  window.PUBLIC_URL = '/viewer/'
  window.browserImportFunction = function (specifier) { return import(specifier) }

  var session = null
  try {
    session = JSON.parse(window.sessionStorage.getItem(SESSION_KEY) || 'null')
  } catch (error) {
    session = null
  }
  var here = new URL(window.location.href)
  if (!session || typeof session.token !== 'string' || !(Date.now() < session.expires_at)) {
    window.sessionStorage.removeItem(SESSION_KEY)
    here.searchParams.delete('token')
    window.location.replace('/viewer/sign-in?next=' + encodeURIComponent(here.pathname + here.search))
    return
  }
  if (here.searchParams.get('token') !== session.token) {
    here.searchParams.set('token', session.token)
    window.history.replaceState(window.history.state, '', here.pathname + here.search + here.hash)
  }
  var start = function () {
    var entry = document.createElement('script')
    entry.src = script.dataset.entry
    document.body.appendChild(entry)
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start)
  } else {
    start()
  }
})()
