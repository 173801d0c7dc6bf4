// Parley admin queue: keyboard-first moderation. Decisions take effect at
// once on the page and on the server, focus moves to the next comment, and
// each decision can be undone for a few seconds. Deletion, which cannot be
// reversed on the server, waits out the undo time before it is sent. The
// queue is endless (the next page loads before the loaded one runs out) and
// live (new comments come in through the server's event stream, admin.js).
// One toast tells of the latest decision, with its Undo.
'use strict';
(() => {
  const P = window.Parley;
  const list = document.getElementById('queue');
  if (!list) return;
  const tab = list.dataset.status;
  const UNDO_MS = 6000;
  const POLL_MS = 20000; // only while the event stream is down
  const PREFETCH = 10; // load the next page when fewer comments than this are left
  const targetOf = { approve: 'approved', reject: 'rejected', spam: 'spam', restore: 'pending' };
  const undoOf = { pending: 'restore', approved: 'approve', rejected: 'reject', spam: 'spam' };
  const doneText = { approve: 'Approved', reject: 'Rejected', spam: 'Marked as spam', restore: 'Back in the queue' };
  const tabs = ['pending', 'approved', 'rejected', 'spam'];
  const help = document.getElementById('help');
  const selectAll = document.getElementById('select-all');
  const selectedCount = document.getElementById('selected-count');
  const more = document.getElementById('more');
  const bulk = document.querySelector('.bulk');
  const empty = document.getElementById('empty');
  const news = document.getElementById('news');
  const densityButton = document.getElementById('density');

  let current = null;
  let lastSeen = ''; // the newest comment ID shown, where polling goes on from
  let undoLast = null; // the undo of the latest decision, while it lasts
  const pendingDeletes = new Set();

  const items = () => Array.from(list.querySelectorAll(':scope > .item'));
  const selected = () => items().filter((el) => el.querySelector('.select').checked);
  const noteSeen = (el) => { if (el.dataset.id > lastSeen) lastSeen = el.dataset.id; };

  function setCurrent(el, focus = true) {
    if (current) current.classList.remove('current');
    current = el || null;
    if (!current) return;
    current.classList.add('current');
    if (focus) {
      current.focus({ preventScroll: true });
      current.scrollIntoView({ block: 'nearest' });
    }
  }

  function move(step) {
    const all = items();
    if (!all.length) return;
    const i = all.indexOf(current);
    setCurrent(all[i < 0 ? 0 : Math.max(0, Math.min(all.length - 1, i + step))]);
  }

  function updateSelection() {
    const n = selected().length;
    const total = items().length;
    selectedCount.textContent = n + ' selected';
    selectAll.checked = n > 0 && n === total;
    selectAll.indeterminate = n > 0 && n < total;
  }

  // updateList says "clear" only when nothing more is to come: with a next
  // page on the server, that page is on its way.
  function updateList() {
    const n = items().length;
    empty.hidden = n > 0;
    empty.textContent = list.dataset.next ? 'Loading the next comments…' : empty.dataset.done;
    bulk.hidden = n === 0;
    updateSelection();
  }

  // announce tells screen readers something without moving focus.
  function announce(message) {
    news.textContent = '';
    setTimeout(() => { news.textContent = message; }, 50); // a change, even for the same words
  }

  // insert puts an item back in creation order: IDs sort by time.
  function insert(el) {
    const later = list.dataset.sort === 'score' // the order the server listed: by score, then ID
      ? (x) => +x.dataset.score < +el.dataset.score || (x.dataset.score === el.dataset.score && x.dataset.id > el.dataset.id)
      : (x) => x.dataset.id > el.dataset.id;
    const after = items().find(later);
    list.insertBefore(el, after || null);
    updateList();
  }

  const describe = (els) => (els.length === 1 ? 'the comment by ' + els[0].dataset.author : els.length + ' comments');

  function send(action, ids, opts) {
    if (ids.length === 1 && action !== 'delete') {
      return P.api('POST', '/api/admin/comments/' + encodeURIComponent(ids[0]) + '/' + action, undefined, opts);
    }
    return P.api('POST', '/api/admin/comments/bulk', { ids, action }, opts);
  }

  // take removes items from the page at once and moves focus on, so the
  // next decision is one key away.
  function take(els) {
    const all = items();
    const last = Math.max(...els.map((x) => all.indexOf(x)));
    const next = all.slice(last + 1).find((x) => !els.includes(x)) ||
      all.slice(0, last).reverse().find((x) => !els.includes(x));
    for (const el of els) {
      el.remove();
      el.classList.remove('current');
      el.querySelector('.select').checked = false;
    }
    updateList();
    if (next) setCurrent(next);
    else {
      current = null;
      document.getElementById('main').focus();
    }
    fillUp();
  }

  function offerUndo(message, undo) {
    let open = true;
    const once = () => {
      if (!open) return;
      open = false;
      undoLast = null;
      note.close();
      undo();
    };
    // One toast at a time: the latest decision replaces the one before,
    // which is counted ("+3 earlier"), so none stack over the queue.
    const note = P.toast(message, { undo: once, timeout: UNDO_MS, slot: 'decision', counted: true });
    undoLast = once;
    setTimeout(() => {
      open = false;
      if (undoLast === once) undoLast = null;
    }, UNDO_MS);
  }

  // ours holds the comments this page decided lately (id → until when):
  // the stream's news of them is old news here, and an undo may bring them
  // back, so it must not remove or refetch them.
  const ours = new Map();
  const markOurs = (ids) => { for (const id of ids) ours.set(id, Date.now() + 2 * UNDO_MS); };
  function isOurs(id) {
    if ((ours.get(id) || 0) > Date.now()) return true;
    ours.delete(id);
    return false;
  }

  async function decide(action, els) {
    els = els.filter((el) => el.dataset.status !== targetOf[action]);
    if (!els.length) return;
    const what = describe(els);
    const ids = els.map((el) => el.dataset.id);
    markOurs(ids);
    take(els);
    if (action === 'delete') {
      deleteLater(els, ids, what);
      return;
    }
    // The undo is offered at once, before the server answers: a quick "u"
    // waits for the decision to land, then reverses it.
    const request = send(action, ids);
    offerUndo(doneText[action] + ': ' + what + '.', async () => {
      els.forEach(insert);
      setCurrent(els[0]);
      try {
        await request;
      } catch (err) {
        return; // the decision failed and was put back already
      }
      try {
        await send(undoOf[tab], ids);
        P.toast('Undone: ' + what + ' is back.', { slot: 'decision' });
      } catch (err) {
        take(els);
        P.toast('Could not undo: ' + err.message, { error: true });
      }
      P.refreshCounts();
    });
    try {
      await request;
    } catch (err) {
      els.forEach(insert);
      P.toast('Could not ' + action + ' ' + what + ': ' + err.message, { error: true });
      return;
    }
    P.refreshCounts();
  }

  // Decisions made elsewhere on the page (spam by score, score.js) leave the
  // list the same way and get the same Undo.
  document.addEventListener('parley:decided', (e) => {
    markOurs(e.detail.ids);
    const els = e.detail.ids.map((id) => document.getElementById('c-' + id)).filter(Boolean);
    if (els.length) take(els);
    offerUndo(e.detail.message, () => {
      els.forEach(insert);
      if (els.length) setCurrent(els[0]);
      // The stream may have taken them off first (its news can beat the
      // answer): once restored, fetch what is still missing.
      e.detail.undo().then(() => {
        for (const id of e.detail.ids) ours.delete(id);
        sync(true);
      }, () => take(els));
    });
  });

  function deleteLater(els, ids, what) {
    const job = { ids, els, what };
    pendingDeletes.add(job);
    job.timer = setTimeout(async () => {
      pendingDeletes.delete(job);
      try {
        await send('delete', ids);
        P.refreshCounts();
      } catch (err) {
        els.forEach(insert);
        P.toast('Could not delete ' + what + ': ' + err.message, { error: true });
      }
    }, UNDO_MS);
    offerUndo('Deleting ' + what + '…', () => {
      clearTimeout(job.timer);
      pendingDeletes.delete(job);
      els.forEach(insert);
      setCurrent(els[0]);
      P.toast('Kept ' + what + '.', { slot: 'decision' });
    });
  }

  // Leaving the page sends the deletions still waiting: the moderator saw
  // them done.
  window.addEventListener('pagehide', () => {
    for (const job of pendingDeletes) {
      clearTimeout(job.timer);
      send('delete', job.ids, { keepalive: true }).catch(() => {});
    }
    pendingDeletes.clear();
  });

  // addItems adds server-rendered items (already escaped and sanitized),
  // skipping any the page shows already. It returns how many were new.
  function addItems(html) {
    const tpl = document.createElement('template');
    tpl.innerHTML = html;
    let added = 0;
    for (const el of Array.from(tpl.content.querySelectorAll('.item'))) {
      if (document.getElementById(el.id)) continue;
      insert(el);
      noteSeen(el);
      P.localTimes(el);
      added++;
    }
    return added;
  }

  async function fetchItems(cursor, poll) {
    const params = new URLSearchParams({ status: tab, q: list.dataset.q, post: list.dataset.post });
    if (cursor) params.set('cursor', cursor);
    if (list.dataset.sort) params.set('sort', list.dataset.sort);
    if (list.dataset.minScore) params.set('min_score', list.dataset.minScore);
    const res = await P.api('GET', '/api/admin/queue?' + params, undefined, { poll, raw: true });
    return { html: await res.text(), next: res.headers.get('X-Next-Cursor') || '' };
  }

  // loadMore adds the next page below the loaded comments. The current
  // comment stays current; if none is left, the first new one becomes it.
  let loading = null;
  function loadMore() {
    if (!loading) loading = loadNext().finally(() => { loading = null; });
    return loading;
  }

  async function loadNext() {
    more.disabled = true;
    try {
      const page = await fetchItems(list.dataset.next, false);
      addItems(page.html);
      list.dataset.next = page.next;
      more.hidden = !page.next;
      updateList();
      if (!current && items().length) setCurrent(items()[0]);
      return true;
    } catch (err) {
      P.toast('Could not load more: ' + err.message, { error: true });
      return false;
    } finally {
      more.disabled = false;
    }
  }

  // fillUp keeps the queue endless: when the loaded comments run low while
  // the server has more, the next page comes without a click.
  async function fillUp() {
    while (list.dataset.next && items().length < PREFETCH && !loading) {
      if (!(await loadMore())) return;
    }
  }

  // sync brings in comments newer than any shown, once every page is loaded
  // (before that they come with the pages), and says so without moving focus.
  // fromStart looks at the first page instead, for an older comment that came
  // back to this tab.
  let syncing = false;
  let syncAgain = null;
  async function sync(fromStart = false) {
    fromStart = fromStart || list.dataset.sort === 'score'; // by score, new comments may rank anywhere
    if (list.dataset.next && !fromStart) return;
    if (syncing) {
      syncAgain = syncAgain === null ? fromStart : syncAgain || fromStart;
      return;
    }
    syncing = true;
    try {
      const page = await fetchItems(fromStart ? '' : lastSeen, true);
      const added = addItems(page.html);
      if (page.next && !fromStart) {
        list.dataset.next = page.next;
        more.hidden = false;
      }
      if (added) {
        announce(added === 1 ? '1 new comment arrived.' : added + ' new comments arrived.');
        if (!current) setCurrent(items()[0], false);
      }
    } catch (err) { /* the next change or round tries again */ } finally {
      syncing = false;
      if (syncAgain !== null) {
        const again = syncAgain;
        syncAgain = null;
        sync(again);
      }
    }
  }

  // decidedElsewhere takes comments another moderator decided off the page,
  // except the one in hand: it stays, marked, so that a key meant for it
  // cannot fall on the next one.
  function decidedElsewhere(els, change) {
    const gone = [];
    for (const el of els) {
      const c = change.comments.find((x) => 'c-' + x.id === el.id);
      if (el !== current) {
        el.remove();
        gone.push(el);
        continue;
      }
      el.dataset.status = change.kind === 'deleted' ? 'deleted' : c.status;
      let note = el.querySelector('.elsewhere');
      if (!note) {
        note = document.createElement('p');
        note.className = 'elsewhere';
        el.querySelector('.item-head').after(note);
      }
      note.textContent = change.kind === 'deleted' ? 'Another moderator deleted this comment.'
        : 'Another moderator decided this comment: now ' + c.status + '.';
    }
    updateList();
    fillUp();
    if (gone.length) announce(describe(gone).replace(/^t/, 'T') + (gone.length === 1 ? ' was' : ' were') + ' decided by another moderator.');
  }

  // A change updates the page where it concerns this tab: comments decided
  // elsewhere leave, new or returning ones are fetched.
  document.addEventListener('parley:change', (e) => {
    const change = e.detail;
    if (change.resync) {
      sync();
      return;
    }
    const leaving = [];
    let newer = false;
    let older = false;
    for (const c of change.comments || []) {
      if (isOurs(c.id)) continue;
      const el = document.getElementById('c-' + c.id);
      const here = change.kind !== 'deleted' && c.status === tab;
      if (el && !here && el.dataset.status === tab) leaving.push(el);
      else if (!el && here) {
        if (c.id > lastSeen) newer = true;
        else older = true;
      }
    }
    if (leaving.length) decidedElsewhere(leaving, change);
    if (older) sync(true);
    else if (newer) sync();
  });

  // The density is the moderator's choice on this device, kept in
  // localStorage: a phone and a desktop want different ones, and a display
  // preference needs no server state.
  function setDensity(compact, save) {
    list.classList.toggle('compact', compact);
    densityButton.setAttribute('aria-pressed', String(compact));
    if (save) {
      try { localStorage.setItem('parley.density', compact ? 'compact' : 'full'); } catch (err) { /* private mode: this page only */ }
    }
    if (current) current.scrollIntoView({ block: 'nearest' });
  }
  const toggleDensity = () => {
    setDensity(!list.classList.contains('compact'), true);
    announce(list.classList.contains('compact') ? 'Compact view.' : 'Full view.');
  };
  try { setDensity(localStorage.getItem('parley.density') === 'compact', false); } catch (err) { /* no storage */ }

  function toggleReply(el, open) {
    const form = el.querySelector('form.reply');
    const button = el.querySelector('[data-action="reply"]');
    form.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) form.querySelector('textarea').focus();
    else setCurrent(el);
  }

  async function reply(form) {
    const el = form.closest('.item');
    const out = form.querySelector('.form-status');
    const submit = form.querySelector('[type="submit"]');
    submit.disabled = true;
    out.textContent = 'Publishing…';
    markOurs([el.dataset.id]);
    try {
      await P.api('POST', '/api/admin/comments/' + encodeURIComponent(el.dataset.id) + '/reply',
        { body: form.elements.body.value });
      out.textContent = '';
      form.reset();
      if (tab === 'approved') {
        toggleReply(el, false);
        P.toast('Reply published.');
      } else {
        take([el]);
        P.toast('Approved ' + describe([el]) + ' and published your reply.', { slot: 'decision', counted: true });
      }
      P.refreshCounts();
    } catch (err) {
      out.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  }

  list.addEventListener('click', (e) => {
    const el = e.target.closest('.item');
    if (!el) return;
    const button = e.target.closest('[data-action]');
    const cancel = e.target.closest('[data-cancel]');
    if (cancel) toggleReply(el, false);
    else if (button && button.dataset.action === 'reply') toggleReply(el, button.getAttribute('aria-expanded') !== 'true');
    else if (button) decide(button.dataset.action, [el]);
    else if (current !== el) setCurrent(el, false);
  });
  list.addEventListener('change', (e) => { if (e.target.matches('.select')) updateSelection(); });
  list.addEventListener('submit', (e) => {
    e.preventDefault();
    reply(e.target);
  });

  for (const b of document.querySelectorAll('[data-bulk]')) {
    b.addEventListener('click', () => {
      const els = selected();
      if (!els.length) P.toast('Select comments first: tick their boxes, or press x on each.');
      else decide(b.dataset.bulk, els);
    });
  }
  selectAll.addEventListener('change', () => {
    for (const el of items()) el.querySelector('.select').checked = selectAll.checked;
    updateSelection();
  });
  more.addEventListener('click', loadMore);
  densityButton.addEventListener('click', toggleDensity);
  document.getElementById('help-button').addEventListener('click', () => help.showModal());

  const typing = (t) => t.matches('textarea, select, input:not([type="checkbox"]):not([type="radio"]), [contenteditable]');

  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.isComposing || help.open) return;
    if (typing(e.target)) {
      if (e.key === 'Escape' && e.target.closest('form.reply')) toggleReply(e.target.closest('.item'), false);
      return;
    }
    const targets = () => {
      const sel = selected();
      return sel.length ? sel : current ? [current] : [];
    };
    const act = { a: 'approve', r: 'reject', s: 'spam', p: 'restore', d: 'delete' }[e.key];
    if (act) decide(act, targets());
    else if (e.key === 'j' || e.key === 'ArrowDown') move(1);
    else if (e.key === 'k' || e.key === 'ArrowUp') move(-1);
    else if (e.key === 'x' && current) {
      const box = current.querySelector('.select');
      box.checked = !box.checked;
      updateSelection();
    } else if (e.key === 'X') {
      selectAll.checked = !selectAll.checked;
      selectAll.dispatchEvent(new Event('change'));
    } else if (e.key === 'u' && undoLast) undoLast();
    else if (e.key === 'v' && current) {
      const raw = current.querySelector('details.raw');
      raw.open = !raw.open;
    } else if (e.key === 'c' && current) toggleReply(current, true);
    else if (e.key === 'm') toggleDensity();
    else if (e.key === '/') document.getElementById('q').focus();
    else if (e.key === '?') help.showModal();
    else if (e.key >= '1' && e.key <= '4') location.href = '/admin?status=' + tabs[e.key - 1];
    else if (e.key === 'Escape') {
      for (const el of selected()) el.querySelector('.select').checked = false;
      updateSelection();
    } else return;
    e.preventDefault();
  });

  items().forEach(noteSeen);
  updateList();
  if (items().length) setCurrent(items()[0]);
  fillUp();
  // Without the event stream, the queue is polled.
  setInterval(() => { if (!document.hidden && !P.live()) sync(); }, POLL_MS);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) sync(); });
})();
