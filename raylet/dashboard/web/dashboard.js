// The Weft dashboard: one page per view (#/cluster, #/actors, #/actors/ID with its worker's
// log, #/jobs, #/objects), each polling the head's JSON API (the same JSON as `weft list ...
// --format json`) once a second and redrawing in place. No framework and no network beyond
// this server.
'use strict';

const POLL_MS = 1000;
const HISTORY = 120;  // samples kept for the utilization charts (two minutes)
const LOG_KEPT = 256 * 1024;  // characters of a worker's log kept on the page
const SVG = 'http://www.w3.org/2000/svg';

// ---- small helpers -------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('data-')) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  return node;
}

function bytes(n) {
  n = Number(n) || 0;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
}

function number(n) {
  if (n === null || n === undefined) return '-';
  return Number.isInteger(n) ? String(n) : Number(n).toFixed(1);
}

function ago(unixMs) {
  const ms = Date.now() - Number(unixMs);
  if (!unixMs || Number(unixMs) === 0) return '-';
  if (ms < 1000) return 'now';
  if (ms < 60000) return Math.round(ms / 1000) + ' s ago';
  if (ms < 3600000) return Math.round(ms / 60000) + ' min ago';
  return new Date(Number(unixMs)).toLocaleString();
}

function time(unixMs) {
  return Number(unixMs) ? new Date(Number(unixMs)).toLocaleString() : '-';
}

function shortId(id) { return id ? id.slice(0, 12) : '-'; }

function stateCell(state) {
  return el('td', {class: 'state state-' + state, text: state.replace(/^(NODE|JOB)_/, '')});
}

function bar(used, total) {
  const fraction = total > 0 ? Math.min(1, Math.max(0, used / total)) : 0;
  const inner = el('span');
  inner.style.width = (fraction * 100).toFixed(1) + '%';
  return el('span', {class: 'bar'}, inner);
}

// A table whose body is replaced at every update; rows come from `row(item)`.
function table(columns) {
  const body = el('tbody');
  const head = el('tr', {}, ...columns.map((c) => el('th', {text: c})));
  return {node: el('table', {}, el('thead', {}, head), body), body};
}

function fill(body, items, row, emptyText, columnCount) {
  body.replaceChildren(...(items.length
    ? items.map(row)
    : [el('tr', {}, el('td', {class: 'empty', colSpan: columnCount, text: emptyText}))]));
}

// ---- talking to the head -------------------------------------------------------------------

async function api(path) {
  const response = await fetch(path, {credentials: 'same-origin', cache: 'no-store'});
  if (response.status === 401) {
    window.location.assign('/login');
    throw new Error('logged out');
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// A worker's log from `offset` (omitted: its last 64 KiB): {text, offset, size, bytes}.
async function logFrom(path, offset) {
  const url = offset === undefined ? path : `${path}&offset=${offset}`;
  const response = await fetch(url, {credentials: 'same-origin', cache: 'no-store'});
  if (response.status === 401) {
    window.location.assign('/login');
    throw new Error('logged out');
  }
  if (!response.ok) throw new Error((await response.json()).error || response.statusText);
  const raw = await response.arrayBuffer();
  return {text: new TextDecoder().decode(raw), bytes: raw.byteLength,
          offset: Number(response.headers.get('X-Log-Offset')),
          size: Number(response.headers.get('X-Log-Size'))};
}

function connection(ok, message) {
  const node = document.getElementById('connection');
  node.className = ok ? 'connection' : 'connection lost';
  node.textContent = ok ? 'updated ' + new Date().toLocaleTimeString() : message;
}

// ---- pages ---------------------------------------------------------------------------------

// Utilization history across page switches: cluster CPU share and object store share, and
// each node's CPU share.
const history = {cluster: [], nodes: new Map()};

function remember(series, value) {
  series.push(value);
  if (series.length > HISTORY) series.shift();
}

function linePoints(series, width, height) {
  const step = width / (HISTORY - 1);
  const offset = HISTORY - series.length;
  return series.map((v, i) => ((offset + i) * step).toFixed(1) + ',' +
                              (height - v * height).toFixed(1)).join(' ');
}

function chart() {
  const width = 600, height = 100;
  const root = svg('svg', {viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none',
                           role: 'img', 'aria-label': 'cluster utilization'});
  root.append(svg('line', {class: 'axis', x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5}));
  root.append(svg('line', {class: 'axis', x1: 0, y1: 0.5, x2: width, y2: 0.5}));
  const cpu = svg('polyline', {class: 'cpu'});
  const store = svg('polyline', {class: 'store'});
  root.append(cpu, store);
  return {
    node: root,
    draw(samples) {
      cpu.setAttribute('points', linePoints(samples.map((s) => s.cpu), width, height));
      store.setAttribute('points', linePoints(samples.map((s) => s.store), width, height));
    },
  };
}

function sparkline(series) {
  const width = 120, height = 24;
  const root = svg('svg', {class: 'spark', viewBox: `0 0 ${width} ${height}`,
                           preserveAspectRatio: 'none'});
  root.append(svg('polyline', {points: linePoints(series, width, height - 2)}));
  return root;
}

function card(label) {
  const value = el('div', {class: 'value', text: '-'});
  const detail = el('div', {class: 'detail'});
  return {node: el('div', {class: 'card'}, el('div', {class: 'label', text: label}), value, detail),
          set(v, d) { value.textContent = v; detail.textContent = d || ''; }};
}

function clusterPage(root) {
  const nodesCard = card('Nodes'), cpuCard = card('CPU'), storeCard = card('Object store'),
        pendingCard = card('Waiting for resources');
  const plot = chart();
  const nodes = table(['Node', 'Host', 'Address', 'State', 'Workers', 'CPU', 'CPU, last 2 min',
                       'Memory', 'Object store', 'Heartbeat']);
  root.append(el('h2', {text: 'Cluster'}),
              el('div', {class: 'cards'}, nodesCard.node, cpuCard.node, storeCard.node,
                 pendingCard.node),
              el('div', {class: 'chart'},
                 el('div', {class: 'legend'}, el('span', {class: 'cpu', text: 'CPU in use'}),
                    el('span', {class: 'store', text: 'object store in use'})),
                 plot.node),
              nodes.node);
  return async () => {
    const reply = await api('/api/nodes');
    const all = reply.nodes || [];
    const alive = all.filter((n) => n.state === 'NODE_ALIVE');
    let cpuTotal = 0, cpuFree = 0, storeUsed = 0, storeCapacity = 0;
    for (const n of alive) {
      cpuTotal += n.total.CPU || 0;
      cpuFree += n.available.CPU || 0;
      storeUsed += Number(n.object_store ? n.object_store.used_bytes : 0);
      storeCapacity += Number(n.object_store ? n.object_store.capacity_bytes : 0);
      const used = (n.total.CPU || 0) > 0 ? 1 - (n.available.CPU || 0) / n.total.CPU : 0;
      if (!history.nodes.has(n.node_id)) history.nodes.set(n.node_id, []);
      remember(history.nodes.get(n.node_id), used);
    }
    remember(history.cluster, {cpu: cpuTotal > 0 ? (cpuTotal - cpuFree) / cpuTotal : 0,
                               store: storeCapacity > 0 ? storeUsed / storeCapacity : 0});
    nodesCard.set(`${alive.length} alive`, `${all.length - alive.length} dead`);
    cpuCard.set(`${number(cpuTotal - cpuFree)} / ${number(cpuTotal)}`, 'in use / in all');
    storeCard.set(bytes(storeUsed), `of ${bytes(storeCapacity)}`);
    pendingCard.set(String(reply.queued_leases || 0),
                    (reply.queued_reasons || []).join('; ') || 'nothing waits');
    plot.draw(history.cluster);
    fill(nodes.body, all, (n) => {
      const store = n.object_store || {};
      const cpuUsed = (n.total.CPU || 0) - (n.available.CPU || 0);
      const memUsed = (n.total.memory || 0) - (n.available.memory || 0);
      return el('tr', {'data-node-id': n.node_id, 'data-state': n.state},
        el('td', {class: 'mono', text: shortId(n.node_id) + (n.is_head ? ' (head)' : '')}),
        el('td', {text: n.hostname}),
        el('td', {class: 'mono', text: n.address}),
        stateCell(n.state),
        el('td', {text: String(n.num_workers)}),
        el('td', {}, bar(cpuUsed, n.total.CPU), `${number(cpuUsed)} / ${number(n.total.CPU)}`),
        el('td', {}, sparkline(history.nodes.get(n.node_id) || [])),
        el('td', {}, bar(memUsed, n.total.memory), `${bytes(memUsed)} / ${bytes(n.total.memory)}`),
        el('td', {}, bar(store.used_bytes, store.capacity_bytes),
           `${bytes(store.used_bytes)} / ${bytes(store.capacity_bytes)}`),
        el('td', {text: n.state === 'NODE_ALIVE' ? ago(n.last_heartbeat_unix_ms)
                                                 : (n.death_reason || '-')}));
    }, 'No nodes.', 10);
  };
}

function actorsPage(root) {
  const state = el('select', {id: 'actor-state'},
                   ...['all states', 'ALIVE', 'PENDING', 'RESTARTING', 'DEAD']
                       .map((s) => el('option', {value: s.startsWith('all') ? '' : s, text: s})));
  const search = el('input', {id: 'actor-search', type: 'search',
                              placeholder: 'Search id, class, name, node'});
  const count = el('span', {class: 'count'});
  const actors = table(['Actor', 'Class', 'Name', 'State', 'Node', 'PID', 'Executor', 'Max conc.',
                        'Running', 'Queued', 'Restarts', 'Reason']);
  actors.node.id = 'actors';
  root.append(el('h2', {text: 'Actors'}), el('div', {class: 'controls'}, state, search, count),
              actors.node);
  let last = [];
  const draw = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = last.filter((a) => words.every((w) =>
      [a.actor_id, a.class_name, a.name, a.node_id, a.namespace].some((f) => (f || '').toLowerCase()
                                                                             .includes(w))));
    count.textContent = `${shown.length} of ${last.length} actors`;
    fill(actors.body, shown, (a) => {
      const row = el('tr', {class: 'link', 'data-actor-id': a.actor_id, 'data-state': a.state},
        el('td', {class: 'mono', text: shortId(a.actor_id)}),
        el('td', {text: a.class_name}),
        el('td', {text: a.name || '-'}),
        stateCell(a.state),
        el('td', {class: 'mono', text: shortId(a.node_id)}),
        el('td', {text: a.pid ? String(a.pid) : '-'}),
        el('td', {text: a.executor || '-'}),
        el('td', {text: number(a.max_concurrency)}),
        el('td', {text: number(a.running)}),
        el('td', {text: number(a.queued)}),
        el('td', {text: number(a.num_restarts)}),
        el('td', {class: 'reason', text: a.death_reason || a.pending_reason || ''}));
      row.addEventListener('click', () => { window.location.hash = '#/actors/' + a.actor_id; });
      return row;
    }, 'No actors.', 12);
  };
  search.addEventListener('input', draw);
  state.addEventListener('change', () => { update().catch(() => {}); });
  const update = async () => {
    last = await api('/api/actors' + (state.value ? '?filter=state=' + state.value : ''));
    draw();
  };
  return update;
}

// The log of the actor's worker, following new lines as they are written.
function actorLog(id) {
  const stream = el('select', {id: 'log-stream'},
    el('option', {value: 'stdout', text: 'stdout'}), el('option', {value: 'stderr', text: 'stderr'}));
  const pre = el('pre', {class: 'log', id: 'actor-log'});
  const node = el('section', {}, el('h3', {}, 'Worker log ', stream), pre);
  let next;  // where the next read starts; undefined: the end of the log, on the next read
  stream.addEventListener('change', () => { next = undefined; pre.textContent = ''; });
  const update = async () => {
    const path = `/api/actors/${encodeURIComponent(id)}/log?stream=${stream.value}`;
    const log = await logFrom(path, next);
    if (next !== undefined && log.size < next) {  // a new worker, or the file started over
      next = undefined;
      pre.textContent = '';
      return;
    }
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = (pre.textContent + log.text).slice(-LOG_KEPT);
    if (atEnd) pre.scrollTop = pre.scrollHeight;
    next = log.offset + log.bytes;
  };
  return {node, update};
}

function actorPage(root, id) {
  const fields = el('dl', {class: 'fields', id: 'actor-fields'});
  const log = actorLog(id);
  root.append(el('h2', {}, el('a', {href: '#/actors', text: 'Actors'}), ` / ${id}`), fields,
              log.node);
  return async () => {
    const actor = await api('/api/actors/' + encodeURIComponent(id));
    if (actor.worker_id) await log.update();
    const entries = Object.entries(actor).map(([key, value]) => {
      let text = value;
      if (value === null || value === '') text = '-';
      else if (key === 'created_unix_ms') text = time(value);
      else if (typeof value === 'object') {
        text = Object.entries(value).map(([k, v]) => `${k}=${v}`).join(' ') || '-';
      }
      const dd = key === 'state' ? el('dd', {class: 'state state-' + value, text: String(text)})
                                 : el('dd', {class: key.endsWith('_id') ? 'mono' : '',
                                             text: String(text)});
      return [el('dt', {text: key}), dd];
    });
    fields.replaceChildren(...entries.flat());
  };
}

function jobsPage(root) {
  const jobs = table(['Job', 'State', 'Driver', 'Namespace', 'Started', 'Ended', 'Reason']);
  root.append(el('h2', {text: 'Jobs'}), jobs.node);
  return async () => {
    const reply = await api('/api/jobs');
    fill(jobs.body, (reply.jobs || []).slice().reverse(), (j) =>
      el('tr', {'data-job-id': j.job_id, 'data-state': j.state},
        el('td', {class: 'mono', text: j.job_id}),
        stateCell(j.state),
        el('td', {text: `pid ${j.driver_pid} on ${j.driver_host}`}),
        el('td', {text: j.namespace || '-'}),
        el('td', {text: time(j.start_unix_ms)}),
        el('td', {text: time(j.end_unix_ms)}),
        el('td', {class: 'reason', text: j.end_reason || ''})), 'No jobs.', 7);
  };
}

function objectsPage(root) {
  const count = el('span', {class: 'count'});
  const objects = table(['Object', 'Size', 'Owner', 'Held by', 'Spilled', 'Locations']);
  root.append(el('h2', {text: 'Objects'}), el('div', {class: 'controls'}, count), objects.node);
  return async () => {
    const list = await api('/api/objects');
    const total = list.reduce((sum, o) => sum + Number(o.size_bytes || 0), 0);
    count.textContent = `${list.length} objects, ${bytes(total)}`;
    fill(objects.body, list, (o) => {
      const r = o.references;
      const held = r ? `${r.local} local, ${r.calls} calls, ${r.borrowers.length} borrowers` +
                       (r.kept ? ', kept' : '') : '?';
      return el('tr', {'data-object-id': o.object_id},
        el('td', {class: 'mono', text: o.object_id}),
        el('td', {text: bytes(o.size_bytes)}),
        el('td', {class: 'mono', text: o.owner + (o.owner_worker_id ? '/' + shortId(o.owner_worker_id)
                                                                    : '')}),
        el('td', {text: held}),
        el('td', {text: o.spilled ? 'yes' : 'no'}),
        el('td', {class: 'mono', text: o.locations.map((l) => l.address).join(', ') || '-'}));
    }, 'No stored objects: small results travel inline and are not listed.', 6);
  };
}

// ---- routing and polling -------------------------------------------------------------------

let generation = 0;  // a page's poll loop stops once another page replaced it

function route() {
  const [, page = 'cluster', id] = (window.location.hash || '#/cluster').split('/');
  for (const link of document.querySelectorAll('header nav a')) {
    link.classList.toggle('current', link.dataset.page === page);
  }
  const root = document.getElementById('page');
  root.replaceChildren();
  const error = el('div', {class: 'error'});
  const content = el('div');
  root.append(error, content);
  const update = page === 'actors' && id ? actorPage(content, decodeURIComponent(id))
               : page === 'actors' ? actorsPage(content)
               : page === 'jobs' ? jobsPage(content)
               : page === 'objects' ? objectsPage(content)
               : clusterPage(content);
  const mine = ++generation;
  const poll = async () => {
    if (mine !== generation) return;
    try {
      await update();
      error.textContent = '';
      connection(true);
    } catch (e) {
      error.textContent = e.message;
      connection(false, 'head not answering');
    }
    if (mine === generation) setTimeout(poll, POLL_MS);
  };
  poll();
}

window.addEventListener('hashchange', route);
route();
