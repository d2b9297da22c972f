// The Spool console: a page per view, each reading the console's JSON API (/api/…), which reads
// and acts through the same subjects as the CLI. Plain ES modules: Preact with htm, no build step.
import htm from 'htm';
import { h, render } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { WorkflowGraph } from './graph.js';

const html = htm.bind(h);
const REFRESH_MS = 2000;

// The token comes from the address printed at start (#token=…), is kept for this browser, and is
// taken out of the address bar.
const fromHash = /[#&]token=([^&]+)/.exec(location.hash);
if (fromHash) {
  localStorage.setItem('spool-console-token', decodeURIComponent(fromHash[1]));
  history.replaceState(
    null,
    '',
    location.pathname + location.hash.replace(/[#&]?token=[^&]+/, '').replace(/^$/, '#/agents'),
  );
}
const token = () => localStorage.getItem('spool-console-token') ?? '';

/** Calls the API; a refusal becomes an Error whose message is the server's sentence. */
async function api(path, body) {
  let res;
  try {
    res = await fetch(`/api/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${token()}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new Error('the console does not answer: is spool console (or spool up) still running?');
  }
  const data = await res.json().catch(() => undefined);
  if (!res.ok) throw new Error(data?.error?.message ?? `the console answered ${res.status}`);
  return data;
}

/**
 * Data of one API path, refreshed every 2 s while the page shows it. A slow answer (NATS down)
 * is not asked for again meanwhile, and an answer for a path the page left is dropped.
 */
function useApi(path) {
  // Kept with the path it is for: a render after the path changed never shows the old data.
  const [state, setState] = useState({ path, data: undefined, error: undefined });
  const shown = useRef(path);
  const inFlight = useRef(new Set());
  const load = useCallback(() => {
    if (inFlight.current.has(path)) return;
    inFlight.current.add(path);
    api(path)
      .then(
        (data) => shown.current === path && setState({ path, data, error: undefined }),
        (error) =>
          shown.current === path &&
          setState((s) => ({ path, data: s.path === path ? s.data : undefined, error: error.message })),
      )
      .finally(() => inFlight.current.delete(path));
  }, [path]);
  useEffect(() => {
    shown.current = path;
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, [load, path]);
  const current = state.path === path ? state : { data: undefined, error: undefined };
  return { data: current.data, error: current.error, reload: load };
}

function useRoute() {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => {
      flash(undefined); // a message belongs to the page it was said on
      setHash(location.hash);
    };
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  const [path, query = ''] = (hash.replace(/^#/, '') || '/agents').split('?');
  return {
    parts: path.split('/').filter(Boolean).map(decodeURIComponent),
    query: new URLSearchParams(query),
  };
}

const Pill = ({ status }) => html`<span class="pill s-${status}">${status}</span>`;
const Alert = ({ error }) => (error ? html`<div class="alert error" role="alert">${error}</div>` : null);
const money = (x) => (x === undefined ? '—' : `$${x.toFixed(4)}`);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
// A keyed agent's instance's task: #/tasks/<agent>/<key>/<taskId> (task ids are per key).
const taskPath = (agent, key, taskId) =>
  [agent, ...(key ? [key] : []), taskId].map(encodeURIComponent).join('/');
const taskLink = (agent, taskId, key) => `#/tasks/${taskPath(agent, key, taskId)}`;
const instanceLink = (agent, key) => `#/tasks?${new URLSearchParams({ agent, key })}`;
const shownAgent = (agent, key) => (key ? `${agent}/${key}` : agent);
const place = (agent, key) => (key ? { agent, key } : {});

/** A button that runs an action, then shows what happened (or why it was refused). */
function ActionButton({ action, label, kind = '', ask, onDone }) {
  const [busy, setBusy] = useState(false);
  const run = async () => {
    const extra = {};
    if (ask) {
      const reason = prompt(ask);
      if (reason === null) return;
      extra.reason = reason;
    }
    setBusy(true);
    try {
      const out = await api('actions', { ...action, ...extra });
      flash({ kind: 'info', text: out.message });
      onDone?.();
    } catch (err) {
      flash({ kind: 'error', text: err.message });
    } finally {
      setBusy(false);
    }
  };
  return html`<button class=${kind} disabled=${busy} onClick=${run}>${label}</button>`;
}

let flash = () => undefined;
function Flash() {
  const [message, setMessage] = useState(undefined);
  flash = setMessage;
  if (!message) return null;
  return html`<div class="alert ${message.kind}" role=${message.kind === 'error' ? 'alert' : 'status'}>
    ${message.text} <button onClick=${() => setMessage(undefined)}>dismiss</button>
  </div>`;
}

function Agents() {
  const { data, error, reload } = useApi('status');
  const row = (a, sub) => html`<tr class=${sub ? 'sub' : ''}>
    <td><a href=${`#/tasks?agent=${a.name}`}>${a.name}</a></td>
    <td><${Pill} status=${a.paused ? 'paused' : a.status} /></td>
    <td>${a.holder ? html`<span class="mono">${a.holder}</span>${a.holderAlive === false ? ' (lease expired)' : ''}` : 'no holder'}</td>
    <td>${a.inFlight.length}</td><td>${a.queued}</td>
    <td>${a.counts.completed} / ${a.counts.failed}</td>
    <td>${money(a.costLast24hUsd)}</td>
    <td>${a.approvals.length > 0 ? html`<a href="#/approvals">${a.approvals.length} waiting</a>` : ''}</td>
    <td><${ActionButton} action=${{ type: a.paused ? 'resume' : 'pause', agent: a.name }} label=${a.paused ? 'Resume' : 'Pause'} onDone=${reload} /></td>
  </tr>`;
  return html`<h1>Agents and pools</h1><${Alert} error=${error} />
    ${
      data &&
      html`<p class="note">${data.totals.inFlight} in flight · ${data.totals.queued} queued · ${data.totals.completed} completed · ${data.totals.failed} failed</p>
    <table><thead><tr><th>agent</th><th>status</th><th>holder</th><th>in flight</th><th>queued</th><th>completed / failed</th><th>cost today</th><th>approvals</th><th></th></tr></thead>
    <tbody>
      ${data.agents.map((a) => row(a, false))}
      ${data.pools.map(
        (
          p,
        ) => html`<tr><td><b>${p.name}</b> (pool of ${p.replicas.length})</td><td><${Pill} status=${p.status} /></td><td>${p.replicas.filter((r) => r.holder && r.holderAlive !== false).length}/${p.replicas.length} held</td>
        <td>${p.replicas.reduce((n, r) => n + r.inFlight.length, 0)}</td><td>${p.queued}</td><td>${p.counts.completed} / ${p.counts.failed}</td>
        <td>${money(p.replicas.reduce((n, r) => n + (r.costLast24hUsd ?? 0), 0))}</td><td></td>
        <td><${ActionButton} action=${{ type: 'pause', agent: p.name }} label="Pause all" onDone=${reload} /> <${ActionButton} action=${{ type: 'resume', agent: p.name }} label="Resume all" onDone=${reload} /></td></tr>
        ${p.replicas.map((r) => row(r, true))}`,
      )}
    </tbody></table>
    ${
      data.keyed?.length > 0 &&
      html`<h2>Keyed agents</h2>
    <table><thead><tr><th>keyed agent</th><th>status</th><th>hosts</th><th>instances active</th><th>passivated</th><th>known</th><th>queued</th><th>results</th></tr></thead>
    <tbody>${data.keyed.map(
      (
        k,
      ) => html`<tr><td><a href=${`#/keyed/${encodeURIComponent(k.name)}`}>${k.name}</a></td><td><${Pill} status=${k.status} /></td>
        <td>${k.hosts.alive} alive${k.hosts.expired > 0 ? `, ${k.hosts.expired} expired` : ''}</td>
        <td>${k.instances.active}</td><td>${k.instances.passivated}</td><td>${k.instances.known}</td><td>${k.queued}</td><td>${k.results.published}</td></tr>`,
    )}</tbody></table>`
    }`
    }`;
}

/** A keyed agent's census and its known instances; each instance's tasks are one click away. */
function Keyed({ agent }) {
  const { data, error } = useApi(`keyed/${encodeURIComponent(agent)}`);
  return html`<h1>Keyed agent ${agent}</h1><${Alert} error=${error} />
    ${
      data &&
      html`<p class="note">${data.hosts.alive.length} host(s) alive · instances ${data.counts.active} active, ${data.counts.passivated} passivated, ${data.counts.known} known${data.counts.waiting ? `, ${data.counts.waiting} waiting` : ''}${data.total > data.instances.length ? ` · the first ${data.instances.length} shown` : ''}</p>
    ${
      data.instances.length === 0
        ? html`<p class="note">No instance has a history yet: spool submit ${agent}/&lt;key&gt; &lt;input&gt;.</p>`
        : html`<table><thead><tr><th>instance</th><th>state</th><th>commits</th></tr></thead><tbody>
      ${data.instances.map(
        (i) => html`<tr><td><a class="mono" href=${instanceLink(agent, i.key)}>${agent}/${i.key}</a></td>
        <td>${i.active ? 'active' : i.waiting ? 'passivated (waiting)' : 'passivated'}</td><td>${i.commits}</td></tr>`,
      )}</tbody></table>`
    }`
    }`;
}

const STATUSES = ['queued', 'running', 'waiting', 'completed', 'failed', 'rejected', 'cancelled'];
function Tasks({ query }) {
  const agent = query.get('agent') ?? '';
  const key = query.get('key') ?? '';
  const status = query.get('status') ?? '';
  const params = new URLSearchParams({
    ...(agent ? { agent } : {}),
    ...(agent && key ? { key } : {}),
    ...(status ? { status } : {}),
  });
  const { data, error } = useApi(`tasks?${params}`);
  const set = (name, value) => {
    const next = new URLSearchParams(query);
    if (value) next.set(name, value);
    else next.delete(name);
    if (name === 'agent') next.delete('key'); // a key is one agent's
    location.hash = `#/tasks?${next}`;
  };
  return html`<h1>Tasks${agent && key ? html` of <a href=${`#/keyed/${encodeURIComponent(agent)}`}>${agent}</a>/<span class="mono">${key}</span>` : ''}</h1><${Alert} error=${error} />
    <div class="filters">
      <label>agent <select aria-label="agent" value=${agent} onChange=${(e) => set('agent', e.target.value)}>
        <option value="">all</option>${(key ? [agent] : (data?.agents ?? (agent ? [agent] : []))).map((a) => html`<option value=${a}>${a}</option>`)}</select></label>
      ${agent && key && html`<label>key <span class="mono" data-testid="key-filter">${key}</span> <button onClick=${() => set('key', '')}>clear</button></label>`}
      <label>status <select aria-label="status" value=${status} onChange=${(e) => set('status', e.target.value)}>
        <option value="">any</option>${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}</select></label>
      ${data && html`<span class="note">${data.total} task(s)</span>`}
    </div>
    ${
      data &&
      html`<table><thead><tr><th>task</th><th>agent</th><th>status</th><th>attempt</th><th>input</th><th>last change</th></tr></thead><tbody>
      ${data.tasks.map(
        (
          t,
        ) => html`<tr><td><a class="mono" href=${taskLink(t.agent, t.taskId, t.key)}>${t.taskId}</a></td><td>${shownAgent(t.agent, t.key)}</td><td><${Pill} status=${t.status} /></td>
        <td>${t.attempt}</td><td>${t.input.slice(0, 90)}</td><td>${when(t.updatedAt)}</td></tr>`,
      )}
    </tbody></table>`
    }`;
}

function TaskState({ task, paused }) {
  if (!task) return html`<p class="note">The task is not in the agent's state at this point.</p>`;
  return html`<div class="card">
    <p><${Pill} status=${task.phase} /> attempt ${task.attempt} · ${task.usage.inputTokens} in / ${task.usage.outputTokens} out tokens${paused ? ' · agent paused' : ''}${task.interruptions ? ` · ${task.interruptions} interruption(s)` : ''}</p>
    <p class="note">received ${when(task.receivedAt)}${task.finishedAt ? ` · finished ${when(task.finishedAt)}` : ''}${task.retryAt ? ` · next call at ${when(task.retryAt)}` : ''}</p>
    <h2>Input</h2><pre>${task.input}</pre>
    ${task.steps.map(
      (s) => html`<h2>Step ${s.step} <span class="note">(${s.model}, ${s.stopReason})</span></h2>
      ${s.text && html`<pre>${s.text}</pre>`}
      ${s.tools.map(
        (
          t,
        ) => html`<div class="mono">→ ${t.name}(${JSON.stringify(t.input)})${t.approval ? ` [approval ${t.approval}]` : ''}${t.delegatedTo ? ` [delegated to ${t.delegatedTo}]` : ''}
        ${t.result ? html`<pre>${t.result.isError ? 'error: ' : ''}${t.result.content}</pre>` : html`<span class="note"> (no result yet)</span>`}</div>`,
      )}`,
    )}
    ${task.output !== undefined && html`<h2>Output</h2><pre>${task.output}</pre>`}
    ${task.error && html`<h2>Error</h2><pre>${task.error.code}: ${task.error.message}</pre>`}
  </div>`;
}

/**
 * The reply text as the model streams it (live only; the journal records each complete reply).
 * Read with fetch, not EventSource, so it carries the token where reads need it.
 */
function LiveReply({ agent, agentKey, taskId }) {
  const [text, setText] = useState('');
  const [state, setState] = useState('connecting');
  useEffect(() => {
    const abort = new AbortController();
    const follow = async () => {
      const res = await fetch(`/api/live/${taskPath(agent, agentKey, taskId)}`, {
        headers: { authorization: `Bearer ${token()}` },
        signal: abort.signal,
      });
      if (!res.ok) {
        const data = await res.json().catch(() => undefined);
        throw new Error(data?.error?.message ?? `the console answered ${res.status}`);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      let step;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        setState('live'); // the console's first bytes come once it follows the task
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6));
          buffer = buffer.slice(end + 2);
          for (const line of data) {
            const chunk = JSON.parse(line);
            // Each model call's reply on its own paragraph.
            setText((t) => t + (step !== undefined && chunk.step !== step ? '\n\n' : '') + chunk.text);
            step = chunk.step;
          }
        }
      }
      setState('ended');
    };
    follow().catch((err) => {
      if (!abort.signal.aborted) setState(`stopped: ${err.message}`);
    });
    return () => abort.abort();
  }, [agent, agentKey, taskId]);
  return html`<div class="card live" data-live=${state}><h2>Live reply <span class="note">(${state})</span></h2><pre>${text || '(waiting for the model to stream…)'}</pre></div>`;
}

function Task({ agent, agentKey, taskId, query }) {
  const { data, error, reload } = useApi(`tasks/${taskPath(agent, agentKey, taskId)}`);
  const where = place(agent, agentKey);
  const self = taskLink(agent, taskId, agentKey);
  const shown = shownAgent(agent, agentKey);
  // A pool's task asked for by the pool's name: its history is the replica's that runs it.
  useEffect(() => {
    if (data && data.taskId === taskId && data.agent !== agent && !agentKey)
      location.replace(taskLink(data.agent, taskId));
  }, [data, agent, agentKey, taskId]);
  if (!data)
    return html`<h1>Task <span class="mono">${taskId}</span></h1><${Alert} error=${error} />${!error && html`<p class="note">Replaying ${shown}'s history…</p>`}`;
  const commits = data.commits;
  const asked = query.has('at') ? Number(query.get('at')) : undefined;
  // `at`: a history sequence number (a commit of the task); the newest when not chosen (it
  // follows new commits). A sequence between two of the task's commits shows the earlier one,
  // as spool replay --until does.
  const latestAt = commits.length - 1;
  const at =
    asked === undefined || Number.isNaN(asked)
      ? latestAt
      : Math.max(
          0,
          commits.findLastIndex((c) => c.seq <= asked),
        );
  const goTo = (i) => {
    location.hash = `${self}?at=${commits[i].seq}`;
  };
  const current = commits[at];
  const latest = commits[latestAt].task;
  const phase = latest?.phase;
  const list = agentKey ? instanceLink(agent, agentKey) : `#/tasks?agent=${agent}`;
  return html`<h1>Task <span class="mono">${taskId}</span> on <a href=${list}>${shown}</a> <${Pill} status=${phase ?? 'unknown'} /></h1>
    <${Alert} error=${error} />
    <div class="actions">
      ${
        phase === 'waiting' &&
        html`<${ActionButton} kind="primary" action=${{ type: 'approve', taskId, ...where }} label="Approve" onDone=${reload} />
        <${ActionButton} kind="danger" action=${{ type: 'deny', taskId, ...where }} ask="Why is it denied? (the model is told)" label="Deny" onDone=${reload} />`
      }
      ${(phase === 'queued' || phase === 'running' || phase === 'waiting') && html`<${ActionButton} kind="danger" action=${{ type: 'cancel', taskId, agent, ...where }} label="Cancel" onDone=${reload} />`}
      ${phase === 'failed' && html`<${ActionButton} kind="primary" action=${{ type: 'retry', taskId, ...where }} label="Retry" onDone=${reload} /><${ActionButton} action=${{ type: 'drop', taskId, ...where }} label="Drop" onDone=${reload} />`}
    </div>
    <div class="travel" aria-label="time travel">
      <button aria-label="step back" disabled=${at === 0} onClick=${() => goTo(at - 1)}>◀ back</button>
      <input type="range" aria-label="history position" min="0" max=${latestAt} value=${at} onInput=${(e) => goTo(Number(e.target.value))} />
      <button aria-label="step forward" disabled=${at === latestAt} onClick=${() => goTo(at + 1)}>forward ▶</button>
      <button onClick=${() => (location.hash = self)}>latest</button>
      <span class="mono" data-testid="at-seq">seq ${current.seq} (commit ${at + 1}/${commits.length})</span>
    </div>
    <div class="cols">
      <div><h2>Commits (history sequence; the state is spool replay ${shown} --until ${current.seq})</h2><ol class="events">
        ${commits.map(
          (
            c,
            i,
          ) => html`<li class=${i === at ? 'at' : i > at ? 'later' : ''} data-seq=${c.seq} onClick=${() => goTo(i)}>
          <span class="mono">#${c.seq}</span> <span class="note">${new Date(c.time).toLocaleTimeString()}</span>
          <ul>${c.events.map((e) => html`<li><b>${e.type}</b> ${e.detail}</li>`)}</ul></li>`,
        )}
      </ol></div>
      <div><h2>State after #${current.seq}</h2>
        ${(phase === 'running' || phase === 'waiting') && at === latestAt && html`<${LiveReply} agent=${agent} agentKey=${agentKey} taskId=${taskId} />`}
        <${TaskState} task=${current.task} paused=${current.agentPaused} /></div>
    </div>`;
}

function Approvals() {
  const { data, error, reload } = useApi('approvals');
  return html`<h1>Pending approvals</h1><${Alert} error=${error} />
    ${
      data &&
      (data.approvals.length === 0
        ? html`<p class="note">No tool call waits for an operator.</p>`
        : html`<table><thead><tr><th>task</th><th>agent</th><th>tool</th><th>input</th><th>why</th><th>since</th><th></th></tr></thead><tbody>
      ${data.approvals.map(
        (
          w,
        ) => html`<tr><td><a class="mono" href=${taskLink(w.agent, w.taskId, w.key)}>${w.taskId}</a></td><td>${shownAgent(w.agent, w.key)}</td><td class="mono">${w.tool}</td><td class="mono">${w.input}</td><td>${w.reason}</td><td>${when(w.requestedAt)}</td>
        <td class="actions"><${ActionButton} kind="primary" action=${{ type: 'approve', taskId: w.taskId, ...place(w.agent, w.key) }} label="Approve" onDone=${reload} />
        <${ActionButton} kind="danger" action=${{ type: 'deny', taskId: w.taskId, ...place(w.agent, w.key) }} ask="Why is it denied? (the model is told)" label="Deny" onDone=${reload} /></td></tr>`,
      )}
    </tbody></table>`)
    }`;
}

function DeadLetters() {
  const { data, error, reload } = useApi('dlq');
  return html`<h1>Dead letters</h1><${Alert} error=${error} />
    ${
      data &&
      (data.entries.length === 0
        ? html`<p class="note">The dead-letter view is empty: no failed task is waiting.</p>`
        : html`<table><thead><tr><th>task</th><th>agent</th><th>error</th><th>attempts</th><th>failed</th><th>input</th><th></th></tr></thead><tbody>
      ${data.entries.map(
        (
          e,
        ) => html`<tr><td><a class="mono" href=${taskLink(e.agent, e.taskId, e.key)}>${e.taskId}</a></td><td>${shownAgent(e.agent, e.key)}</td><td><b>${e.error.code}</b><br />${e.error.message}</td><td>${e.attempts}</td><td>${when(e.failedAt)}</td><td>${e.input.slice(0, 80)}</td>
        <td class="actions"><${ActionButton} kind="primary" action=${{ type: 'retry', taskId: e.taskId, ...place(e.agent, e.key) }} label="Retry" onDone=${reload} /><${ActionButton} kind="danger" action=${{ type: 'drop', taskId: e.taskId, ...place(e.agent, e.key) }} label="Drop" onDone=${reload} /></td></tr>`,
      )}
    </tbody></table>`)
    }`;
}

function Workflows() {
  const { data, error } = useApi('workflows');
  return html`<h1>Workflows</h1><${Alert} error=${error} />
    ${
      data &&
      (data.workflows.length === 0
        ? html`<p class="note">No workflow has run yet: spool run &lt;workflow&gt; &lt;input&gt;.</p>`
        : html`<table><thead><tr><th>run</th><th>workflow</th><th>status</th><th>started</th><th>finished</th></tr></thead><tbody>
      ${data.workflows.map((w) => html`<tr><td><a class="mono" href=${`#/workflows/${encodeURIComponent(w.id)}`}>${w.id}</a></td><td>${w.workflow}</td><td><${Pill} status=${w.status} /></td><td>${when(w.startedAt)}</td><td>${when(w.finishedAt)}</td></tr>`)}
    </tbody></table>`)
    }`;
}

function Workflow({ id }) {
  const { data, error, reload } = useApi(`workflows/${encodeURIComponent(id)}`);
  const w = data?.workflow;
  return html`<h1>Workflow <span class="mono">${id}</span> ${w && html`<${Pill} status=${w.status} />`}</h1><${Alert} error=${error} />
    ${
      w &&
      html`<p class="note">${w.workflow} · started ${when(w.startedAt)}${w.finishedAt ? ` · finished ${when(w.finishedAt)}` : ''} · ${w.usage.inputTokens} in / ${w.usage.outputTokens} out tokens</p>
      ${w.status === 'running' && html`<${ActionButton} kind="danger" action=${{ type: 'cancel-workflow', workflowId: id }} label="Cancel run" onDone=${reload} />`}
      ${w.error && html`<div class="alert error">${w.error.code}: ${w.error.message}</div>`}
      <div class="card"><${WorkflowGraph} steps=${w.steps} /></div>
      <table><thead><tr><th>step</th><th>agent</th><th>status</th><th>tasks</th><th>output</th></tr></thead><tbody>
        ${w.steps.map(
          (
            s,
          ) => html`<tr><td>${s.name}${s.map ? html` <span class="note">(map over ${s.map})</span>` : ''}</td><td>${s.agent}</td><td><${Pill} status=${s.status} /></td>
          <td>${s.tasks.map((t) => html`<div><a class="mono" href=${taskLink(t.agent, t.taskId)}>${t.taskId}</a> <${Pill} status=${t.status} /></div>`)}</td>
          <td>${(s.output ?? s.error?.message ?? '').slice(0, 160)}</td></tr>`,
        )}
      </tbody></table>`
    }`;
}

function App() {
  const { parts, query } = useRoute();
  const [view, ...args] = parts;
  const [typed, setTyped] = useState('');
  const page =
    view === 'tasks' && args.length === 2
      ? html`<${Task} agent=${args[0]} taskId=${args[1]} query=${query} />`
      : view === 'tasks' && args.length === 3
        ? html`<${Task} agent=${args[0]} agentKey=${args[1]} taskId=${args[2]} query=${query} />`
        : view === 'keyed' && args.length === 1
          ? html`<${Keyed} agent=${args[0]} />`
          : view === 'tasks'
            ? html`<${Tasks} query=${query} />`
            : view === 'approvals'
              ? html`<${Approvals} />`
              : view === 'dlq'
                ? html`<${DeadLetters} />`
                : view === 'workflows' && args.length === 1
                  ? html`<${Workflow} id=${args[0]} />`
                  : view === 'workflows'
                    ? html`<${Workflows} />`
                    : view === 'agents' || view === undefined
                      ? html`<${Agents} />`
                      : html`<h1>Not found</h1><div class="alert error" role="alert">There is no page "${parts.join('/')}"; see the menu above.</div>`;
  const nav = [
    ['agents', 'Agents'],
    ['tasks', 'Tasks'],
    ['approvals', 'Approvals'],
    ['dlq', 'Dead letters'],
    ['workflows', 'Workflows'],
  ];
  return html`<header><b>Spool</b><nav>${nav.map(([href, label]) => html`<a class=${view === href || (!view && href === 'agents') ? 'on' : ''} href=${`#/${href}`}>${label}</a>`)}</nav>
    <span class="token">${
      token()
        ? 'actions enabled'
        : html`<input aria-label="console token" placeholder="console token" value=${typed} onInput=${(e) => setTyped(e.target.value)} /><button onClick=${() => {
            localStorage.setItem('spool-console-token', typed.trim());
            setTyped('');
          }}>use</button>`
    }</span></header>
    <main><${Flash} />${page}</main>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "Loading…" line
render(html`<${App} />`, root);
