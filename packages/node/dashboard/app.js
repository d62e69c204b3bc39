// The ring dashboard: draws the ring that the serving node walks (server-sent events from
// /api/events), its processes, transfers and events, and a key box. When the serving node
// leaves or stops answering, it switches to another node of the ring. No network beyond the
// ring's own admin ports: d3-shape is served by the node.
import { arc } from "d3-shape"

const TAU = 2 * Math.PI
const RADIUS = { inner: 185, outer: 250, copiesInner: 254, copiesOuter: 262 }
const PALETTE = ["#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#e53935", "#3949ab", "#c0ca33", "#6d4c41", "#d81b60", "#546e7a", "#fdd835"]

const $ = (id) => document.getElementById(id)
const svg = (tag, attributes = {}) => {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag)
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, String(v))
  return element
}
const html = (tag, attributes = {}, text) => {
  const element = document.createElement(tag)
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, String(v))
  if (text !== undefined) element.textContent = String(text)
  return element
}
const number = (n) => n.toLocaleString("en-US")

const state = {
  base: location.origin, // the node whose events the page shows
  node: null, // its address, from its hello
  snapshot: null,
  copies: 3,
  kvRefused: null,
  colours: new Map(),
  events: [],
  seenEvents: new Set(),
  location: null, // the key box's last answer
  source: null,
  lastRing: 0,
  switching: false,
  tried: new Set()
}

/** Angles of a member's range [id, next), clockwise from the top; the whole circle for a lone member. */
const angles = (m) => {
  let end = m.nextAt
  if (end <= m.at) end += 1
  return { startAngle: m.at * TAU, endAngle: end * TAU }
}
const memberArc = arc().innerRadius(RADIUS.inner).outerRadius(RADIUS.outer)
const copiesArc = arc().innerRadius(RADIUS.copiesInner).outerRadius(RADIUS.copiesOuter)
const markArc = arc().innerRadius(RADIUS.inner - 12).outerRadius(RADIUS.copiesOuter + 10)
const labelArc = arc().innerRadius(RADIUS.copiesOuter + 22).outerRadius(RADIUS.copiesOuter + 22)

/** The scale round the ring: 0 at the top, then each quarter of 2^64. */
const drawScale = () => {
  const scale = document.getElementById("scale")
  for (const [fraction, label] of [[0, "0"], [0.25, "2⁶²"], [0.5, "2⁶³"], [0.75, "3·2⁶²"]]) {
    const [x, y] = labelArc.centroid({ startAngle: fraction * TAU, endAngle: fraction * TAU })
    const text = svg("text", { class: "scale", x, y: y + 4, "text-anchor": "middle" })
    text.textContent = label
    scale.append(text)
  }
}

const colourOf = (process) => {
  if (!state.colours.has(process)) state.colours.set(process, PALETTE[state.colours.size % PALETTE.length])
  return state.colours.get(process)
}

const setConnection = (kind, text) => {
  const c = $("connection")
  c.dataset.state = kind
  c.textContent = text
}

/** The processes of a snapshot, in ring order of their first position. */
const processesOf = (snapshot) => {
  const byProcess = new Map()
  for (const m of snapshot.members) {
    if (!byProcess.has(m.process)) byProcess.set(m.process, [])
    byProcess.get(m.process).push(m)
  }
  return [...byProcess.entries()].map(([process, members]) => {
    const up = members.filter((m) => m.state === "up")
    const phase = up.some((m) => m.phase === "leaving") ? "leaving" : up.some((m) => m.phase === "joining") ? "joining" : up.length > 0 ? "ready" : ""
    const repairs = up.filter((m) => m.repair !== null)
    const handoff = repairs.some((m) => m.repair.kind === "handoff")
    return {
      process,
      members,
      state: up.length > 0 ? "up" : members.some((m) => m.state === "down") ? "down" : "unreachable",
      phase,
      keys: Math.max(0, ...up.map((m) => m.keys)),
      owned: up.reduce((a, m) => a + m.ownedKeys, 0),
      replicated: up.reduce((a, m) => a + Math.min(m.replicatedKeys, m.ownedKeys), 0),
      copies: Math.max(0, ...up.map((m) => m.copies)),
      httpPort: Math.max(0, ...members.map((m) => m.httpPort)),
      transfer: repairs.length === 0 ? null : {
        done: repairs.reduce((a, m) => a + m.repair.done, 0),
        total: repairs.reduce((a, m) => a + m.repair.total, 0),
        keysPerSecond: repairs.reduce((a, m) => a + m.repair.keysPerSecond, 0),
        kind: handoff ? "receiving a hand-off" : "repairing"
      }
    }
  })
}

const describe = (m) =>
  `${m.address}  (process ${m.process})\n` +
  `range [${m.id}, ${m.next})  ${((((m.nextAt <= m.at ? m.nextAt + 1 : m.nextAt) - m.at) * 100).toFixed(2))}% of the ring\n` +
  (m.state === "up"
    ? `${m.phase}; ${number(m.ownedKeys)} keys owned, ${number(m.replicatedKeys)} at ${m.copies} copies; ${number(m.keys)} stored by the process`
    : m.state === "down" ? `down: silent for ${Math.round((m.silentMs ?? 0) / 1000)} s (still a member)` : "unreachable: it does not answer")

const drawRing = (snapshot) => {
  const arcs = $("arcs")
  const copies = $("copies")
  arcs.replaceChildren()
  copies.replaceChildren()
  const highlight = state.location
  for (const m of snapshot.members) {
    const a = angles(m)
    const path = svg("path", {
      class: "member",
      d: memberArc(a),
      fill: colourOf(m.process),
      "data-address": m.address,
      "data-process": m.process,
      "data-state": m.state,
      "data-phase": m.phase
    })
    if (highlight?.replicas.includes(m.address)) path.classList.add("replica")
    if (highlight?.owner === m.address) path.classList.add("owner")
    const title = svg("title")
    title.textContent = describe(m)
    path.append(title)
    path.addEventListener("mouseenter", () => ($("hover").textContent = describe(m)))
    arcs.append(path)
    if (m.state === "up" && m.ownedKeys > 0) {
      copies.append(svg("path", { class: "copy", d: copiesArc(a), "data-ok": m.replicatedKeys >= m.ownedKeys }))
    }
  }
  const mark = $("key-mark")
  mark.replaceChildren()
  if (highlight) {
    const at = highlight.at * TAU
    mark.append(svg("path", { d: markArc({ startAngle: at - 0.006, endAngle: at + 0.006 }), fill: "#d81b60" }))
  }
  const processes = processesOf(snapshot)
  const live = processes.filter((p) => p.state === "up")
  $("centre").textContent = `${processes.length} processes`
  $("centre-detail").textContent = `${snapshot.members.length} positions · ${number(live.reduce((a, p) => a + p.owned, 0))} keys owned`
}

const drawTable = (snapshot) => {
  const rows = processesOf(snapshot).map((p) => {
    const tr = html("tr", { "data-process": p.process, "data-state": p.state })
    const swatch = html("td", { class: "swatch" })
    const box = html("span")
    box.style.background = colourOf(p.process)
    swatch.append(box)
    const address = html("td", { class: "address" })
    if (p.httpPort > 0 && p.state === "up") {
      const link = html("a", { href: `${location.protocol}//${hostOf(p.process)}:${p.httpPort}/` }, p.process)
      address.append(link)
    } else address.textContent = p.process
    const copies = p.owned === 0 ? "–" : `${number(p.replicated)} / ${number(p.owned)} (${Math.floor((100 * p.replicated) / p.owned)}%)`
    tr.append(
      swatch,
      address,
      html("td", { class: "state" }, p.state === "up" ? p.phase : p.state),
      html("td", { class: "positions" }, p.members.length),
      html("td", { class: "keys" }, p.state === "up" ? number(p.keys) : "–"),
      html("td", { class: "owned" }, p.state === "up" ? number(p.owned) : "–"),
      html("td", { class: "copies" }, copies)
    )
    return tr
  })
  $("processes").tBodies[0].replaceChildren(...rows)
  const transfers = processesOf(snapshot).filter((p) => p.transfer !== null).map((p) => {
    const t = p.transfer
    const percent = t.total === 0 ? 100 : Math.floor((100 * t.done) / t.total)
    const div = html("div", { class: "transfer", "data-process": p.process })
    div.append(html("div", {}, `${p.process}: ${t.kind}, ${number(t.done)} of ${number(t.total)} keys (${percent}%), ${number(Math.round(t.keysPerSecond))} keys/s`))
    const bar = html("div", { class: "bar" })
    const fill = html("div")
    fill.style.width = `${percent}%`
    bar.append(fill)
    div.append(bar)
    return div
  })
  $("transfers").replaceChildren(...transfers)
  const copiesPerKey = Math.max(0, ...processesOf(snapshot).map((p) => p.copies))
  $("summary").textContent = `${snapshot.members.length} positions · ${copiesPerKey || state.copies} copies per key · walked by ${snapshot.from}`
}

const render = () => {
  if (!state.snapshot) return
  drawRing(state.snapshot)
  drawTable(state.snapshot)
}

const addEvents = (events) => {
  for (const e of events) {
    const id = `${e.at}|${e.node}|${e.kind}|${e.message}`
    if (state.seenEvents.has(id)) continue
    state.seenEvents.add(id)
    state.events.push(e)
  }
  state.events.sort((a, b) => a.at - b.at)
  state.events = state.events.slice(-200)
  const items = [...state.events].reverse().map((e) => {
    const li = html("li", { "data-kind": e.kind })
    li.append(html("time", { datetime: new Date(e.at).toISOString() }, new Date(e.at).toISOString().slice(11, 23)))
    li.append(html("span", { class: "kind" }, e.kind))
    li.append(document.createTextNode(e.message))
    return li
  })
  $("events").replaceChildren(...items)
}

const hostOf = (process) => process.slice(0, process.lastIndexOf(":")).replace(/^\[|\]$/g, "")
const urlOf = (process, port) => `${location.protocol}//${process.startsWith("[") ? process.slice(0, process.lastIndexOf(":")) : hostOf(process)}:${port}`

/** Switches to another node of the last snapshot, one that answered and runs an admin server. */
const switchAway = (why) => {
  if (state.switching) return
  state.switching = true
  state.source?.close()
  state.tried.add(state.base)
  const candidates = state.snapshot
    ? processesOf(state.snapshot).filter((p) => p.state === "up" && p.phase !== "leaving" && p.httpPort > 0).map((p) => urlOf(p.process, p.httpPort))
    : []
  let next = candidates.find((url) => !state.tried.has(url))
  if (next === undefined) {
    state.tried.clear()
    next = candidates.find((url) => url !== state.base) ?? state.base
  }
  setConnection("reconnecting", `${why}; switching to ${new URL(next).host}…`)
  setTimeout(() => {
    state.switching = false
    connect(next)
  }, 500)
}

const connect = (base) => {
  state.base = base
  const source = new EventSource(`${base}/api/events`)
  state.source = source
  const hello = setTimeout(() => source === state.source && switchAway(`${new URL(base).host} does not answer`), 4000)
  source.addEventListener("hello", (e) => {
    clearTimeout(hello)
    const h = JSON.parse(e.data)
    state.node = h.node
    state.copies = h.copies
    state.kvRefused = h.kv
    state.tried.clear()
    for (const id of ["get", "set", "delete"]) $(id).disabled = h.kv !== null
    if (h.kv !== null) $("key-result").textContent = h.kv
    setConnection("connected", `connected to ${h.node}`)
    addEvents(h.events)
  })
  source.addEventListener("ring", (e) => {
    state.snapshot = JSON.parse(e.data)
    state.lastRing = Date.now()
    render()
    const own = state.snapshot.members.filter((m) => m.process === state.node)
    if (own.some((m) => m.phase === "leaving")) {
      setConnection("leaving", `${state.node} is leaving the ring`)
      switchAway(`${state.node} is leaving the ring`)
    }
  })
  source.addEventListener("event", (e) => addEvents([JSON.parse(e.data)]))
  source.onerror = () => {
    if (source !== state.source) return
    clearTimeout(hello)
    switchAway(`lost the connection to ${state.node ?? new URL(base).host}`)
  }
}

// A stream that stays open but stops sending counts as lost too.
setInterval(() => {
  if (state.lastRing > 0 && Date.now() - state.lastRing > 5000 && !state.switching) switchAway(`${state.node} stopped sending`)
}, 1000)

const showResult = (text, error = false) => {
  const out = $("key-result")
  out.textContent = text
  out.dataset.error = String(error)
}

const located = (location) => {
  state.location = location
  const out = $("key-result")
  out.dataset.owner = location.owner
  out.dataset.replicas = location.replicas.join(",")
  render()
  return `position ${location.position}, owner ${location.owner}; copies on ${location.replicas.join(", ")}`
}

const request = async (url, init) => {
  const response = await fetch(url, init)
  const body = await response.json()
  if (!response.ok) throw new Error(body.error ?? `${response.status} ${response.statusText}`)
  return body
}

$("key-box").addEventListener("submit", async (e) => {
  e.preventDefault()
  const key = $("key").value
  const encoding = $("encoding").value
  try {
    showResult(located(await request(`${state.base}/api/key?key=${encodeURIComponent(key)}&encoding=${encoding}`)))
  } catch (error) {
    showResult(error.message, true)
  }
})

for (const id of ["get", "set", "delete"]) {
  $(id).addEventListener("click", async () => {
    const body = { op: id, key: $("key").value, encoding: $("encoding").value }
    if (id === "set") body.value = $("value").value
    try {
      const r = await request(`${state.base}/api/kv`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
      const where = r.location ? located(r.location) : ""
      const answer = r.found === false && id !== "set"
        ? r.message
        : id === "get" ? `Value is: ${r.value.text}` : id === "set" ? (r.previous ? `Previous value was: ${r.previous.text}` : "Stored.") : `Deleted: ${r.value.text}`
      showResult(`${answer}\n${where}`)
    } catch (error) {
      showResult(error.message, true)
    }
  })
}

drawScale()
connect(location.origin)
