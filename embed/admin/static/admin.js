// Parley admin: what every admin page shares. Calls to the API with the
// session's CSRF token, messages (toasts), live counts per status fed by the
// server's event stream, local times.
'use strict';
window.Parley = (() => {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : '';
  // The site the page is about ("*" for all of one's sites): every API call
  // that names none is for it.
  const siteMeta = document.querySelector('meta[name="parley-site"]');
  const site = siteMeta ? siteMeta.content : '';
  const forSite = (url) => {
    if (!site || !url.startsWith('/api/admin/')) return url;
    const u = new URL(url, location.origin);
    if (!u.searchParams.has('site')) u.searchParams.set('site', site);
    return u.pathname + u.search;
  };

  class ApiError extends Error {
    constructor(status, code, message, fields) {
      super(message);
      this.status = status;
      this.code = code;
      this.fields = fields || {};
    }
  }

  // api calls the server and returns the decoded answer (JSON, or text for
  // HTML fragments, or null when empty). Options: poll (background request:
  // does not keep the session alive), feature (a name for a 404 message),
  // raw (return the Response itself).
  async function api(method, url, body, opts = {}) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
    if (opts.poll) headers['X-Parley-Poll'] = '1';
    let res;
    try {
      res = await fetch(forSite(url), {
        method, headers, credentials: 'same-origin', keepalive: !!opts.keepalive,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'network', 'The server could not be reached. Check your connection and try again.');
    }
    if (res.ok) {
      if (opts.raw) return res;
      const type = res.headers.get('Content-Type') || '';
      if (res.status === 204 || !type) return null;
      return type.includes('json') ? res.json() : res.text();
    }
    let err = {};
    try { err = (await res.json()).error || {}; } catch (e) { /* not JSON */ }
    if (res.status === 401) {
      sessionEnded();
      throw new ApiError(401, 'unauthorized', 'Your session has ended. Sign in again to go on.');
    }
    if (res.status === 404 && opts.feature) {
      throw new ApiError(404, 'not_found', opts.feature + ' is not available on this server yet.');
    }
    throw new ApiError(res.status, err.code || 'internal', err.message || 'The server answered ' + res.status + '.', err.fields);
  }

  let ended = false;
  function sessionEnded() {
    if (ended) return;
    ended = true;
    if (stream) stream.close(); // no reconnecting without a session
    streamOpen = false;
    const link = document.createElement('a');
    link.href = '/admin/login';
    link.textContent = 'Sign in again';
    toast('Your session has ended. ', { action: link, timeout: 0, error: true });
  }

  // slots holds the open toast of each slot, with how many it replaced.
  const slots = new Map();

  // toast shows a short message. Options: error, timeout (ms, 0 keeps it),
  // undo (a function: adds an Undo button), action (an element to add),
  // slot (a name: the toast replaces the slot's open one instead of stacking
  // over the page), counted (with slot: say how many earlier toasts of the
  // slot it replaced, "+3 earlier").
  function toast(message, opts = {}) {
    const box = document.getElementById('toasts');
    if (!box) return { close() {} };
    const el = document.createElement('div');
    el.className = 'toast' + (opts.error ? ' toast-error' : '');
    const text = document.createElement('span');
    text.textContent = message;
    el.append(text);
    let timer = 0;
    const close = () => {
      clearTimeout(timer);
      el.remove();
      if (opts.slot && slots.get(opts.slot) && slots.get(opts.slot).el === el) slots.delete(opts.slot);
    };
    if (opts.slot) {
      const prev = slots.get(opts.slot);
      let earlier = 0;
      if (prev) {
        earlier = prev.earlier + (prev.counted ? 1 : 0);
        prev.close();
      }
      if (!opts.counted) earlier = 0;
      if (earlier > 0) {
        const more = document.createElement('span');
        more.className = 'toast-more';
        more.textContent = '+' + earlier + ' earlier';
        el.append(more);
      }
      slots.set(opts.slot, { el, close, earlier, counted: !!opts.counted });
    }
    if (opts.undo) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'Undo';
      b.addEventListener('click', () => { close(); opts.undo(); });
      el.append(' ', b);
    }
    if (opts.action) el.append(opts.action);
    const x = document.createElement('button');
    x.type = 'button';
    x.className = 'toast-close';
    x.setAttribute('aria-label', 'Dismiss');
    x.textContent = '×';
    x.addEventListener('click', close);
    el.append(x);
    box.append(el);
    const timeout = opts.timeout === undefined ? (opts.error ? 10000 : 6000) : opts.timeout;
    if (timeout > 0) timer = setTimeout(close, timeout);
    return { close };
  }

  async function refreshCounts() {
    if (!csrf || ended) return;
    try {
      const counts = await api('GET', '/api/admin/counts', undefined, { poll: true });
      for (const el of document.querySelectorAll('[data-count]')) {
        el.textContent = counts[el.dataset.count] || 0;
      }
    } catch (e) { /* the next round tries again */ }
  }

  function localTimes(root) {
    for (const t of root.querySelectorAll('time[datetime]')) {
      const d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d)) t.title = d.toLocaleString();
    }
  }

  // The live stream: the server sends every committed change as a
  // Server-Sent Event (/api/admin/events). Each one refreshes the counts and
  // is passed on to the page as a "parley:change" event (detail: the change,
  // or {resync: true} when changes may have been missed: after a reconnect
  // or when the stream fell behind). EventSource reconnects by itself after a
  // broken connection; a refused stream (too many open, or signed out) is
  // retried after a pause, and meanwhile pages poll.
  let stream = null;
  let streamOpen = false;
  let countsTimer = 0;
  const live = () => streamOpen;

  function changed(detail) {
    // Bursts (a bulk action) refresh the counts once.
    clearTimeout(countsTimer);
    countsTimer = setTimeout(refreshCounts, 100);
    document.dispatchEvent(new CustomEvent('parley:change', { detail }));
  }

  function connect() {
    if (!csrf || ended || !window.EventSource) return;
    let opened = false;
    stream = new EventSource('/api/admin/events');
    stream.addEventListener('open', () => {
      streamOpen = true;
      if (opened) changed({ resync: true }); // missed while reconnecting
      opened = true;
    });
    stream.addEventListener('message', (e) => {
      try { changed(JSON.parse(e.data)); } catch (err) { changed({ resync: true }); }
    });
    stream.addEventListener('resync', () => changed({ resync: true }));
    stream.addEventListener('error', () => {
      streamOpen = false;
      if (stream.readyState !== EventSource.CLOSED) return; // reconnecting by itself
      stream = null;
      refreshCounts(); // notices a session that ended
      setTimeout(connect, 15000 + Math.random() * 15000);
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    localTimes(document);
    // g focuses the site switcher. Choosing a site does nothing by itself
    // (arrowing through a list must not leave the page); Open goes there.
    const switcher = document.getElementById('site-switch');
    if (switcher) {
      document.addEventListener('keydown', (e) => {
        if (e.key === 'g' && !e.ctrlKey && !e.metaKey && !e.altKey && !e.target.closest('input, textarea, select, [contenteditable]')) {
          e.preventDefault();
          switcher.focus();
        }
      });
    }
    connect();
    // Without a stream, counts are polled.
    setInterval(() => { if (!document.hidden && !live()) refreshCounts(); }, 30000);
    document.addEventListener('visibilitychange', () => { if (!document.hidden) refreshCounts(); });
  });
  window.addEventListener('pagehide', () => {
    if (stream) stream.close();
    stream = null;
    streamOpen = false;
  });
  window.addEventListener('pageshow', (e) => { if (e.persisted) { connect(); changed({ resync: true }); } });

  return { api, toast, refreshCounts, localTimes, live, ApiError };
})();
