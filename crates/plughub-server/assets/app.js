// plughub's pages work without this script where they only show things (the catalogue's search is a
// plain form). Changes go to the JSON API, with the session's token in X-CSRF-Token.
'use strict';
document.documentElement.classList.add('js');

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? '';

async function api(method, url, body, extraHeaders = {}) {
  const headers = { 'x-csrf-token': csrf(), ...extraHeaders };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const answer = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  let data = null;
  try { data = await answer.json(); } catch { /* not JSON */ }
  if (!answer.ok) {
    const error = new Error(data?.error?.message ?? `the server answered ${answer.status}`);
    error.details = data?.error?.details ?? null;
    error.status = answer.status;
    throw error;
  }
  return data;
}

function say(form, selector, text) {
  const el = form.querySelector(selector);
  if (el) el.textContent = text;
}

/** Shows each bad setting beside its field, and the rest at the form's foot. */
function showError(form, error) {
  form.querySelectorAll('[data-error-for]').forEach((el) => { el.textContent = ''; });
  let placed = false;
  for (const problem of error.details?.problems ?? []) {
    const el = form.querySelector(`[data-error-for="${CSS.escape(problem.key)}"]`);
    if (el) { el.textContent = problem.message; placed = true; }
  }
  say(form, '.form-error', placed ? 'Some settings need a change (see above).' : error.message);
  const first = form.querySelector('[data-error-for]:not(:empty)');
  if (first) first.previousElementSibling?.focus?.();
}

/** The settings a form holds: only those given (an empty secret keeps the one set). */
function settingsOf(form) {
  const settings = {};
  form.querySelectorAll('[data-setting]').forEach((el) => {
    if (el.value.trim() !== '') settings[el.name] = el.value;
  });
  return settings;
}

/** A form's named fields as the API's JSON body. */
function bodyOf(form) {
  const body = {};
  for (const el of form.elements) {
    if (!el.name || el.disabled || el.type === 'submit') continue;
    if (el.type === 'checkbox' && !el.checked) continue;
    let value = el.value;
    // An empty field is a field left out: the API's optional fields take their defaults.
    if (value === '' && el.type !== 'hidden') continue;
    if (el.dataset.type === 'number') value = Number(value);
    // Checkboxes of one name that together make a list (the events of a webhook).
    if (el.dataset.type === 'each') { (body[el.name] ??= []).push(value); continue; }
    if (el.dataset.type === 'list') { value = value.split(',').map((s) => s.trim()).filter(Boolean); if (!value.length) continue; }
    body[el.name] = value;
  }
  return body;
}

// The catalogue's search box says the query its page shows: a browser coming back to the page (back,
// forward) otherwise restores what was last typed into it, another query over these results.
window.addEventListener('pageshow', () => {
  const box = document.querySelector('form.search input[name="q"]');
  if (box) box.value = new URLSearchParams(location.search).get('q') ?? '';
});

document.addEventListener('click', async (e) => {
  if (!e.target.matches('[data-sign-out]')) return;
  try { await api('POST', '/api/auth/logout'); } catch { /* signed out either way */ }
  location.href = '/login';
});

document.addEventListener('submit', async (e) => {
  const form = e.target;
  if (form.matches('[data-login]')) { e.preventDefault(); return login(form); }
  if (form.matches('[data-install]')) { e.preventDefault(); return install(form); }
  if (form.matches('[data-path-field]')) {
    // The field named by data-path-field goes in the API path ({} in data-api), not in the body.
    const field = form.elements[form.dataset.pathField];
    form.dataset.api = form.dataset.apiTemplate.replace('{}', encodeURIComponent(field.value));
  }
  if (form.matches('[data-playground]')) { e.preventDefault(); return run(form); }
  if (!form.matches('[data-api]')) return;
  e.preventDefault();
  if (form.dataset.confirm && !confirm(form.dataset.confirm)) return;
  const button = form.querySelector('button');
  const label = button?.textContent;
  if (button) { button.disabled = true; if (form.dataset.busy) button.textContent = form.dataset.busy; }
  say(form, '.form-error', '');
  try {
    const method = form.dataset.method || 'POST';
    const body = form.matches('[data-settings]') ? { settings: settingsOf(form) } : bodyOf(form);
    if (form.dataset.pathField) delete body[form.dataset.pathField];
    const sent = method === 'DELETE' && !Object.keys(body).length ? undefined : body;
    const answer = await api(method, form.dataset.api, sent);
    const then = form.dataset.then;
    if (then === 'reload') location.reload();
    else if (then === 'secret') {
      const box = form.querySelector('[data-secret]');
      box.hidden = false;
      box.querySelector('output').textContent = answer.secret ?? answer.token ?? answer.password ?? (answer.link ? new URL(answer.link, location.origin).href : 'nothing to show: it was not made');
      box.querySelector('output').focus?.();
    } else if (then === 'done') { say(form, '.form-done', form.dataset.done || 'Done.'); form.reset(); }
    else if (then) location.href = then;
  } catch (error) {
    showError(form, error);
  } finally {
    if (button) { button.disabled = false; button.textContent = label; }
  }
});

async function login(form) {
  say(form, '.form-error', '');
  try {
    await api('POST', '/api/auth/login', { email: form.email.value, password: form.password.value });
    // Only a page of this site (the server checked the path; the browser's reading is checked here too).
    const next = new URL(form.dataset.next || '/plugins', location.origin);
    location.href = next.origin === location.origin ? next.href : '/plugins';
  } catch (error) { say(form, '.form-error', error.message); form.password.focus(); }
}

/** The install flow: install, then the settings, then the grants ticked; each step shown as it goes. */
async function install(form) {
  const progress = form.querySelector('[data-progress]');
  const button = form.querySelector('button[type=submit]');
  const org = form.org.value;
  const plugin = form.dataset.plugin;
  const path = `/api/orgs/${encodeURIComponent(org)}/plugins`;
  const one = `${path}/${encodeURIComponent(plugin)}`;
  progress.textContent = '';
  say(form, '.form-error', '');
  form.querySelectorAll('[data-error-for]').forEach((el) => { el.textContent = ''; });
  const step = (text) => { const li = document.createElement('li'); li.textContent = text; progress.append(li); return li; };
  const ok = (li, text) => { li.classList.add('done'); li.textContent = text; };
  button.disabled = true;
  let current = null;
  try {
    const version = form.version.value;
    current = step(`Installing ${plugin}${version ? '@' + version : ''}: fetching, checking integrity, analysing…`);
    const installed = await api('POST', path, { plugin: version ? `${plugin}@${version}` : plugin });
    ok(current, `Installed ${installed.plugin} ${installed.version} (risk ${installed.risk_score ?? '?'}/100).`);
    const settings = settingsOf(form);
    if (Object.keys(settings).length) {
      current = step('Saving the settings…');
      await api('PUT', `${one}/config`, { settings });
      ok(current, 'Settings saved (secrets sealed).');
    }
    const ticked = [...form.querySelectorAll('input[name=grant]:checked')];
    if (ticked.length) {
      current = step('Granting the permissions ticked…');
      const grant = { domains: [], secrets: [], programs: [], permissions: [] };
      for (const box of ticked) {
        const items = box.dataset.items ? box.dataset.items.split(',').filter((s) => s && !s.startsWith('(')) : [];
        if (box.value === 'network.external') grant.domains.push(...items);
        else if (box.value === 'secrets.access') grant.secrets.push(...items);
        else if (box.value === 'process.spawn') grant.programs.push(...items);
        else grant.permissions.push(box.value);
      }
      // A grant that names nothing grants all the plugin asks for: never send one for what was ticked.
      if (!grant.domains.length && !grant.secrets.length && !grant.programs.length && !grant.permissions.length) {
        ok(current, 'Nothing granted: what it asks for names no domain or program; grant them on the installed plugins page.');
      } else {
        await api('POST', `${one}/permissions`, grant);
        ok(current, 'Permissions granted.');
      }
    }
    step('Done: opening your installed plugins…').classList.add('done');
    location.href = `/plugins/installed?org=${encodeURIComponent(org)}`;
  } catch (error) {
    if (current) { current.classList.add('failed'); current.textContent += ' failed.'; }
    showError(form, error);
    button.disabled = false;
  }
}

/** Reads a server-sent event stream from a fetch answer, calling `on(event, data)` for each event. */
async function readEvents(answer, on) {
  const reader = answer.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length) {
        let parsed = data.join('\n');
        try { parsed = JSON.parse(parsed); } catch { /* text */ }
        on(event, parsed);
      }
    }
  }
}

/** The playground: runs a component and shows its callbacks, log and result as they come. */
async function run(form) {
  const out = document.querySelector('.run-output');
  const status = out.querySelector('[data-run-status]');
  const callbacks = out.querySelector('[data-callbacks]');
  const log = out.querySelector('[data-log]');
  const result = out.querySelector('[data-result]');
  const egress = out.querySelector('[data-egress]');
  callbacks.textContent = ''; log.textContent = ''; result.textContent = ''; egress.textContent = '';
  const org = encodeURIComponent(form.dataset.org);
  const networkEvents = `/api/orgs/${org}/events?type=plugin_network_request&per_page=50`;
  // The newest network request recorded before the run: the run's are those after it (by the store's
  // order, not by a clock of this browser's).
  let before = 0;
  try { before = (await api('GET', networkEvents)).items[0]?.seq ?? 0; } catch { /* none readable */ }
  say(form, '.form-error', '');
  const body = { [form.kind.value]: form.name.value, text: form.text.value };
  if (form.agent.value) body.agent = form.agent.value;
  const url = `/api/orgs/${encodeURIComponent(form.dataset.org)}/plugins/${encodeURIComponent(form.plugin.value)}/run`;
  const button = form.querySelector('button');
  button.disabled = true;
  status.textContent = 'Running…';
  const started = performance.now();
  const add = (list, text) => { const li = document.createElement('li'); li.textContent = text; list.append(li); li.scrollIntoView({ block: 'nearest' }); };
  try {
    const answer = await fetch(url, { method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-csrf-token': csrf() }, body: JSON.stringify(body) });
    if (!answer.ok || !(answer.headers.get('content-type') ?? '').includes('text/event-stream')) {
      const data = await answer.json().catch(() => null);
      throw new Error(data?.error?.message ?? `the server answered ${answer.status}`);
    }
    await readEvents(answer, (event, data) => {
      if (event === 'callback') add(callbacks, typeof data === 'string' ? data : (data.text ?? JSON.stringify(data)));
      else if (event === 'log') add(log, typeof data === 'string' ? data : `${data.level ?? ''} ${data.message ?? data.line ?? JSON.stringify(data)}`);
      else if (event === 'result' || event === 'error') {
        result.textContent = JSON.stringify(data, null, 2);
        const figures = [];
        const m = data.metrics ?? data.execution ?? data;
        if (m.duration_ms !== undefined) figures.push(`${m.duration_ms.toFixed(1)} ms`);
        if (m.memory_bytes != null) figures.push(`${Math.round(m.memory_bytes / 1048576)} MB`);
        status.textContent = `${event === 'error' ? 'Failed' : 'Done'}${figures.length ? ': ' + figures.join(', ') : ''} (${Math.round(performance.now() - started)} ms here).`;
      } else add(log, `${event}: ${JSON.stringify(data)}`);
    });
  } catch (error) {
    status.textContent = 'Failed.';
    say(form, '.form-error', error.message);
  } finally { button.disabled = false; }
  try {
    const page = await api('GET', networkEvents);
    const mine = page.items.filter((e) => e.seq > before && e.metadata?.plugin === form.plugin.value).reverse();
    for (const e of mine) {
      const m = e.metadata;
      add(egress, `${m.method ?? ''} ${m.host}:${m.port} → ${m.refused ? 'refused: ' + m.refused : m.status}`);
    }
    if (!mine.length) add(egress, 'none');
  } catch { /* the run's own answer is shown already */ }
}

/** The activity page's first page: executions recorded from now on come in at the top. */
function live() {
  const table = document.querySelector('[data-live]');
  if (!table || !window.EventSource) return;
  const rows = table.querySelector('[data-rows]');
  const source = new EventSource(table.dataset.live);
  source.addEventListener('execution', (e) => {
    let event; try { event = JSON.parse(e.data); } catch { return; }
    const tr = document.createElement('tr');
    const m = event.metadata ?? {};
    const cells = [event.time?.slice(0, 19).replace('T', ' '), event.event_type, m.plugin ?? '', event.actor, m.component ?? m.action ?? m.outcome ?? ''];
    for (const text of cells) { const td = document.createElement('td'); td.textContent = text ?? ''; tr.append(td); }
    if (event.event_type !== 'plugin_action_executed') tr.classList.add('failed');
    rows.prepend(tr);
  });
  source.addEventListener('error', () => { if (source.readyState === EventSource.CLOSED) source.close(); });
}
live();
