// The clinic upload page: sign in, then send files to the gateway's tus endpoint with Uppy.
// The files added together form one batch (metadata `batch`, `batch-files`, `filename`, as
// `radbridge upload` sends them), so readers see a study only once all its files are stored.
// Uppy keeps each upload's URL in localStorage under the file's fingerprint: after a dropped
// connection or a reload, Retry (or adding the same files again) resumes at the server's offset.
// The urgency and patient type picked on the page go with every file of the batch (metadata
// `urgency`, `patient-type`); "" means not declared, so the DICOM decides, as without the CLI flags.
// The page speaks Chinese or English (messages.js), and Uppy with it.
import { Uppy, Dashboard, Tus } from '/upload/assets/uppy.min.mjs'
import zhCN from '/upload/assets/uppy-locale-zh_CN.mjs'
import { MESSAGES, pickLanguage } from '/upload/assets/messages.js'

const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000]
const CHUNK_BYTES = 8 * 1024 * 1024 // a dropped link costs at most one chunk
const CHECKSUM_RETRIES = 2
const BATCH_STORE = 'radbridge-upload-batch:' // + fingerprint of a set of files

let token = null // kept in memory only: a reload asks for the password again

const $ = (id) => document.getElementById(id)
const language = pickLanguage(location.search, navigator.languages || [navigator.language])
const t = MESSAGES[language]

function translatePage() {
  document.documentElement.lang = language
  for (const element of document.querySelectorAll('[data-text]')) {
    element.textContent = t[element.dataset.text]
  }
  const other = language === 'en' ? 'zh-CN' : 'en'
  $('language').href = `?lang=${other}`
  $('language').lang = other
}

function show(list, text) {
  const item = document.createElement('li')
  item.textContent = text
  list.append(item)
}

// --- signing in (same origin: the gateway runs the password grant) ---

async function signIn(event) {
  event.preventDefault()
  const form = event.target
  $('sign-in-error').textContent = ''
  let response
  try {
    response = await fetch('/upload/sign-in', { method: 'POST', body: new FormData(form) })
  } catch {
    $('sign-in-error').textContent = t.unreachable
    return
  }
  const body = await response.json().catch(() => ({}))
  if (!response.ok) {
    const refusal = t.signInRefused?.[response.status]
    $('sign-in-error').textContent = refusal || body.message || t.signInFailed(response.status)
    return
  }
  token = body.access_token
  $('who').textContent = form.username.value
  form.password.value = ''
  form.hidden = true
  $('uploader').hidden = false
}

function signOut() {
  token = null
  $('uploader').hidden = true
  $('sign-in').hidden = false
}

// --- what is sent: DICOM Part 10 files and zips, as `radbridge upload` does ---

async function isDicomOrZip(file) {
  if (file.name.toUpperCase() === 'DICOMDIR') return false // an index: its files are in the folder
  const head = new Uint8Array(await file.data.slice(0, 132).arrayBuffer())
  const zip = head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04
  const dicom = String.fromCharCode(...head.slice(128, 132)) === 'DICM'
  return zip || dicom
}

async function leaveOutOthers(uppy, files) {
  for (const file of files) {
    if (!(await isDicomOrZip(file))) {
      uppy.removeFile(file.id)
      show($('skipped'), t.leftOut(file.meta.relativePath || file.name))
    }
  }
}

// --- batches: one per set of files added together, stable across retries and reloads ---

function fingerprint(text) {
  // Two FNV-1a hashes with different seeds: a short, stable name for a set of file ids.
  let a = 0x811c9dc5
  let b = 0x01000193
  for (let i = 0; i < text.length; i++) {
    a = Math.imul(a ^ text.charCodeAt(i), 0x01000193) >>> 0
    b = Math.imul(b ^ text.charCodeAt(i), 0x811c9dc5) >>> 0
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0')
}

function batchFor(files) {
  const key = BATCH_STORE + fingerprint(files.map((f) => f.id).sort().join('\n'))
  let batch = localStorage.getItem(key)
  if (!batch) {
    const random = crypto.getRandomValues(new Uint8Array(10))
    batch = 'web-' + Array.from(random, (x) => x.toString(16).padStart(2, '0')).join('')
    localStorage.setItem(key, batch)
  }
  return { key, batch }
}

function assignBatch(uppy) {
  const fresh = uppy.getFiles().filter((f) => !f.meta.batch) // a retry keeps its batch
  if (fresh.length === 0) return
  const { key, batch } = batchFor(fresh)
  for (const file of fresh) {
    uppy.setFileMeta(file.id, {
      batch,
      'batch-files': String(fresh.length),
      filename: file.meta.relativePath || file.name,
      urgency: $('urgency').value, // the whole batch says the same
      'patient-type': $('patient-type').value,
      batchStoreKey: key,
    })
  }
}

async function finalize(batch, files) {
  const response = await fetch(`/uploads/batches/${encodeURIComponent(batch)}/finalize`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
  })
  const body = await response.json().catch(() => ({}))
  if (!response.ok) {
    show($('errors'), t.batchFailed(batch, body.message || `HTTP ${response.status}`))
    return
  }
  localStorage.removeItem(files[0].meta.batchStoreKey)
  const studies = (body.studies || []).length
  const declared = t.declared(files[0].meta.urgency, files[0].meta['patient-type'])
  show($('batches'), t.complete(files.length, studies, declared, batch))
}

async function finalizeComplete(uppy) {
  const byBatch = new Map()
  for (const file of uppy.getFiles()) {
    byBatch.set(file.meta.batch, [...(byBatch.get(file.meta.batch) || []), file])
  }
  for (const [batch, files] of byBatch) {
    if (batch && files.every((f) => f.progress.uploadComplete) && !files[0].meta.finalized) {
      files.forEach((f) => uppy.setFileMeta(f.id, { finalized: true }))
      await finalize(batch, files)
    }
  }
}

// --- checksums: the gateway discards a chunk whose SHA-256 differs (460) ---

async function addChecksum(req, file) {
  // crypto.subtle exists on HTTPS pages (and localhost); the gateway is served over HTTPS.
  if (req.getMethod() !== 'PATCH' || !globalThis.crypto?.subtle) return
  const start = Number(req.getHeader('Upload-Offset'))
  // tus-js-client sends [offset, offset + chunkSize) of the file in each PATCH.
  const chunk = file.data.slice(start, Math.min(start + CHUNK_BYTES, file.size))
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await chunk.arrayBuffer()))
  req.setHeader('Upload-Checksum', `sha256 ${btoa(String.fromCharCode(...digest))}`)
}

function shouldRetry(error, attempt, options, retryByDefault) {
  // A chunk damaged on the way is sent again a few times; other refusals are final.
  if (error?.originalResponse?.getStatus() === 460) return attempt < CHECKSUM_RETRIES
  return retryByDefault(error)
}

// --- errors a person can act on ---

function explain(error, response) {
  const status = response?.status ?? error?.originalResponse?.getStatus?.() ?? 0
  let serverMessage = ''
  try {
    serverMessage = JSON.parse(response?.body?.xhr?.responseText || '{}').message || ''
  } catch { /* not JSON */ }
  switch (status) {
    case 0: return t.dropped
    case 401: return t.expired
    case 403: return t.notUploader
    case 413: return t.tooLarge(serverMessage)
    case 460: return t.damaged
    default: return t.failed(serverMessage || error?.message, status)
  }
}

// --- Uppy ---

function startUppy() {
  const uppy = new Uppy({ autoProceed: false, ...(language === 'zh-CN' ? { locale: zhCN } : {}) })
    .use(Dashboard, {
      inline: true,
      target: '#dashboard',
      fileManagerSelectionType: 'both', // files, or a whole folder (webkitdirectory)
      showProgressDetails: true,
      proudlyDisplayPoweredByUppy: false,
      height: 420,
    })
    .use(Tus, {
      endpoint: '/uploads/',
      chunkSize: CHUNK_BYTES,
      retryDelays: RETRY_DELAYS_MS,
      limit: 3,
      removeFingerprintOnSuccess: true,
      allowedMetaFields: ['filename', 'batch', 'batch-files', 'urgency', 'patient-type'],
      headers: () => ({ Authorization: `Bearer ${token}` }),
      onBeforeRequest: addChecksum,
      onShouldRetry: shouldRetry,
    })
  uppy.addPreProcessor(async () => assignBatch(uppy))
  uppy.on('files-added', (files) => leaveOutOthers(uppy, files))
  uppy.on('upload', () => { $('errors').replaceChildren() })
  uppy.on('progress', (percent) => {
    const files = uppy.getFiles()
    const done = files.filter((f) => f.progress.uploadComplete).length
    $('progress').textContent = t.progress(done, files.length, percent)
  })
  uppy.on('upload-error', (file, error, response) => {
    show($('errors'), `${file.meta.filename || file.name}: ${explain(error, response)}`)
  })
  uppy.on('complete', () => finalizeComplete(uppy))
  window.radbridgeUppy = uppy // for the browser test and for support staff in the console
}

translatePage()
$('sign-in').addEventListener('submit', signIn)
$('sign-out').addEventListener('click', signOut)
startUppy()
