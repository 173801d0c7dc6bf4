// Parley comment widget (docs/widget.md). Every #parley or [data-parley]
// element becomes a widget in its own Shadow DOM; [data-parley-count="KEY"]
// elements get the post's count. No cookies; only the server's sanitized
// comment HTML is ever inserted as HTML.
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || !script.src) return;
  const base = new URL('.', script.src); // Parley's root, wherever it is mounted

  // The strings table: every visible word comes from here. Bloggers override
  // any key with data-strings='{"submit": "Send"}'; data-lang picks a table.
  const STRINGS = {
    en: {
      count_zero: 'No Comments', count_one: '{n} Comment', count_other: '{n} Comments',
      heading_title: '{count} on “{title}”',
      loading: 'Loading comments…', load_failed: 'The comments could not be loaded.', retry: 'Try again',
      deleted: 'This comment was deleted.', site: 'Site', awaiting: 'Awaiting moderation',
      reply: 'Reply', reply_to: 'Reply to {author}', cancel_reply: 'Cancel reply',
      permalink: 'Comment by {author}, {date}',
      form_heading: 'Leave a comment',
      moderated: 'Comments are moderated and appear once approved. Fields marked * are required.',
      author: 'Name', email: 'Email', email_hint: 'Never published.', website: 'Website', body: 'Comment',
      body_hint: 'You can use *emphasis*, `code`, > quotes, lists and links.',
      honeypot: 'Leave this field empty',
      remember: 'Remember me on this device',
      notify_published: 'Email me when my comment is published',
      notify_replies: 'Email me when someone replies',
      submit: 'Post comment', sending: 'Sending…',
      sent: 'Thank you! Your comment is awaiting moderation.',
      fix: 'Please correct the marked fields.',
      offline: 'Your comment could not be sent: the server did not answer. Your text is kept; please try again.',
      failed: 'Your comment could not be sent: {message} Your text is kept; please try again.',
      err_required: 'Please fill in this field.',
      err_email: 'Please enter a valid email address, like ada@example.com.',
      err_url: 'Please enter a web address starting with http:// or https://.',
      err_long: 'Please shorten this to at most {max} characters.',
      err_chars: 'Please remove control or invisible characters.',
    },
    fr: {
      count_zero: 'Aucun commentaire', count_one: '{n} commentaire', count_other: '{n} commentaires',
      heading_title: '{count} sur « {title} »',
      loading: 'Chargement des commentaires…', load_failed: 'Les commentaires n’ont pas pu être chargés.', retry: 'Réessayer',
      deleted: 'Ce commentaire a été supprimé.', site: 'Site', awaiting: 'En attente de modération',
      reply: 'Répondre', reply_to: 'Répondre à {author}', cancel_reply: 'Annuler la réponse',
      permalink: 'Commentaire de {author}, {date}',
      form_heading: 'Laisser un commentaire',
      moderated: 'Les commentaires sont modérés et apparaissent une fois approuvés. Les champs marqués * sont obligatoires.',
      author: 'Nom', email: 'E-mail', email_hint: 'Jamais publié.', website: 'Site web', body: 'Commentaire',
      body_hint: 'Vous pouvez utiliser *l’italique*, `le code`, > les citations, les listes et les liens.',
      honeypot: 'Laissez ce champ vide',
      remember: 'Se souvenir de moi sur cet appareil',
      notify_published: 'M’écrire quand mon commentaire est publié',
      notify_replies: 'M’écrire quand quelqu’un répond',
      submit: 'Publier le commentaire', sending: 'Envoi…',
      sent: 'Merci ! Votre commentaire est en attente de modération.',
      fix: 'Veuillez corriger les champs signalés.',
      offline: 'Votre commentaire n’a pas pu être envoyé : le serveur n’a pas répondu. Votre texte est conservé ; réessayez.',
      failed: 'Votre commentaire n’a pas pu être envoyé : {message} Votre texte est conservé ; réessayez.',
      err_required: 'Veuillez remplir ce champ.',
      err_email: 'Veuillez saisir une adresse e-mail valide, comme ada@example.com.',
      err_url: 'Veuillez saisir une adresse web commençant par http:// ou https://.',
      err_long: 'Veuillez raccourcir à {max} caractères au plus.',
      err_chars: 'Veuillez retirer les caractères de contrôle ou invisibles.',
    },
  };

  // Reading an option: the element's own data attribute, else the script tag's.
  const option = (el, name) => el.dataset[name] ?? script.dataset[name];

  // strings returns the table for el (site: its site's language), with the
  // blogger's overrides applied.
  function strings(el, site) {
    let lang = option(el, 'lang') || site || document.documentElement.lang || 'en';
    try {
      [lang] = Intl.getCanonicalLocales(lang);
    } catch {
      lang = 'en';
    }
    const code = lang.toLowerCase();
    const table = STRINGS[code] || STRINGS[code.split('-')[0]];
    let overrides = {};
    try {
      overrides = JSON.parse(option(el, 'strings') || '{}');
    } catch (err) {
      console.warn('Parley: data-strings is not valid JSON', err);
    }
    // Dates and numbers follow the language of the words around them.
    return { ...STRINGS.en, ...table, ...overrides, lang: table ? lang : 'en' };
  }

  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? values[k] : m));
  // A name set into a sentence is isolated (FSI…PDI), so that a right-to-left
  // name cannot reorder the words around it.
  const isolate = (name) => '\u2068' + name + '\u2069';

  function countText(s, n) {
    const form = n === 0 && s.count_zero ? 'zero' : new Intl.PluralRules(s.lang).select(n);
    return fill(s['count_' + form] || s.count_other, { n: n.toLocaleString(s.lang) });
  }

  // The site a page names with data-site (on the widget or the script tag),
  // sent as site=ID; the server checks it against the page's origin.
  const siteOf = (el) => (el && el.dataset.site) || script.dataset.site || '';
  const endpoint = (path, params, site) => {
    const url = new URL(path, base);
    for (const [k, v] of params) url.searchParams.append(k, v);
    if (site) url.searchParams.set('site', site);
    return url;
  };
  const get = (path, params, site) => fetch(endpoint(path, params, site), { credentials: 'omit' });

  // h builds an element: h('a', {href, class, text}, ...children).
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const k in props) {
      const v = props[k];
      if (v == null || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    el.append(...children.filter((c) => c != null));
    return el;
  }

  // The thread's markup matches the server-rendered fragment (format=html),
  // so that the widget can adopt a fragment already in the page.
  const COMMENT = 'https://schema.org/Comment';
  const PERSON = 'https://schema.org/Person';
  const repliesOf = (li) => li.querySelector(':scope > ol') || li.appendChild(h('ol', { class: 'parley-comments' }));
  const inert = document.createElement('template');
  // A long thread: the first FIRST comments (whole threads) are shown at once,
  // the rest added in slices of about SLICE_MS while the page is idle.
  const FIRST = 50;
  const SLICE_MS = 8;
  const idle = (f) => (window.requestIdleCallback ? requestIdleCallback(f, { timeout: 50 }) : setTimeout(f, 0));

  // Counts for listing pages: one /api/counts request per 100 distinct keys.
  function fillCounts() {
    const els = [...document.querySelectorAll('[data-parley-count]')];
    const keys = [...new Set(els.map((el) => el.dataset.parleyCount))];
    for (let i = 0; i < keys.length; i += 100) {
      const batch = keys.slice(i, i + 100);
      get('api/counts', batch.map((k) => ['post', k]), siteOf(document.querySelector('#parley, [data-parley]')))
        .then((res) => (res.ok ? res.json() : Promise.reject(new Error('HTTP ' + res.status))))
        .then((counts) => {
          for (const el of els) {
            const n = counts[el.dataset.parleyCount];
            if (typeof n === 'number') el.textContent = countText(strings(el), n);
          }
        })
        .catch((err) => console.warn('Parley: counts could not be loaded', err));
    }
  }

  // The commenter's own rules, mirroring the server's validator, so that most
  // mistakes are caught before anything is sent.
  const CONTROL = /\p{Cc}/u;
  // Joiners (U+200C, U+200D) are the server's to judge: names need them.
  const INVISIBLE = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C\u200B\u2060\uFEFF\u00AD\u180E]/;
  const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
  const runes = (v) => [...v].length;
  const bytes = (v) => new TextEncoder().encode(v).length;
  function webURL(v) {
    try {
      const u = new URL(v);
      return /^https?:$/.test(u.protocol) && u.hostname !== '' && !u.username && !u.password;
    } catch {
      return false;
    }
  }
  const RULES = {
    author: (v, s) => (!v ? s.err_required : runes(v) > 80 ? fill(s.err_long, { max: 80 }) : CONTROL.test(v) || INVISIBLE.test(v) ? s.err_chars : ''),
    email: (v, s) => (!v ? s.err_required : bytes(v) > 254 || CONTROL.test(v) || !EMAIL.test(v) ? s.err_email : ''),
    website: (v, s) => (v && (bytes(v) > 2048 || CONTROL.test(v) || !webURL(v)) ? s.err_url : ''),
    body: (v, s) => (!v ? s.err_required : runes(v) > 10000 ? fill(s.err_long, { max: 10000 }) : /[^\P{Cc}\n\t]/u.test(v) ? s.err_chars : ''),
  };

  // solve finds n with hex(SHA-256(salt + n)) == challenge, in batches that
  // yield to the page between them so that it stays responsive.
  async function solve(pow) {
    if (!pow || pow.algorithm !== 'SHA-256' || !globalThis.crypto?.subtle) return null;
    const want = pow.challenge.toLowerCase();
    const encoder = new TextEncoder();
    const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
    for (let start = 0; start <= pow.maxnumber; start += 500) {
      const end = Math.min(start + 500, pow.maxnumber + 1);
      const hashes = [];
      for (let n = start; n < end; n++) hashes.push(crypto.subtle.digest('SHA-256', encoder.encode(pow.salt + n)));
      const found = (await Promise.all(hashes)).findIndex((b) => hex(b) === want);
      if (found >= 0) return String(start + found);
      await new Promise((resolve) => {
        const channel = new MessageChannel(); // a task without setTimeout's clamping
        channel.port1.onmessage = resolve;
        channel.port2.postMessage(0);
      });
    }
    return null;
  }

  const storage = (kind) => {
    try {
      return window[kind];
    } catch {
      return null; // storage blocked: remembering simply does not happen
    }
  };
  const load = (kind, key, fallback) => {
    try {
      return JSON.parse(storage(kind)?.getItem(key)) ?? fallback;
    } catch {
      return fallback;
    }
  };
  const save = (kind, key, value) => {
    try {
      if (value == null) storage(kind)?.removeItem(key);
      else storage(kind)?.setItem(key, JSON.stringify(value));
    } catch {
      // full or blocked storage costs only the convenience
    }
  };
  const ME = 'parley:commenter';

  class Widget {
    constructor(host) {
      this.host = host;
      this.post = host.dataset.post || location.pathname;
      this.site = siteOf(host);
      const thread = this.fetchThread(); // first: the request runs while the rest is built
      this.lang(strings(host));
      this.nodes = new Map(); // comment id → its <li>
      this.pendingKey = 'parley:pending:' + base + (this.site ? '\n' + this.site : '') + '\n' + this.post;
      const fragment = host.querySelector('.parley-thread');
      const root = host.attachShadow({ mode: 'open' });
      root.adoptedStyleSheets = [sheet()];
      this.root = root;
      this.heading = h('h2', { id: 'heading', part: 'heading' });
      this.status = h('p', { class: 'status', role: 'status' });
      this.list = fragment?.querySelector(':scope > ol.parley-comments') || h('ol', { class: 'parley-comments' });
      for (const li of this.list.querySelectorAll('li.parley-comment')) this.nodes.set(li.dataset.parleyId, li);
      fragment?.remove();
      this.form = this.buildForm();
      this.home = h('div', { class: 'home' }, this.form);
      this.frame = h('section', { class: 'root', 'aria-labelledby': 'heading', lang: this.s.lang, part: 'root' },
        this.heading, this.status, this.list, this.home);
      root.append(this.frame);
      this.list.addEventListener('click', (e) => {
        const button = e.target.closest('.parley-reply');
        if (button) this.openReply(button.closest('li'), button);
      });
      this.applyTheme();
      // Until the thread is known the heading waits, unless adopted.
      this.heading.textContent = this.headingText(this.list.querySelectorAll('li.parley-comment:not(.parley-deleted)').length);
      this.heading.hidden = !this.nodes.size;
      addEventListener('hashchange', () => this.reveal());
      // Only once the thread is in is the form where it will stay, below it.
      this.load(thread).then(() => this.whenVisible(this.form));
    }

    lang(s) {
      this.s = s;
      this.dates = new Intl.DateTimeFormat(s.lang, { dateStyle: 'long', timeStyle: 'short' });
      if (this.frame) this.frame.lang = s.lang;
      return this;
    }

    applyTheme() {
      const theme = option(this.host, 'theme') || this.w?.theme || 'light';
      const dark = matchMedia('(prefers-color-scheme: dark)');
      const apply = () => this.frame.classList.toggle('dark', theme === 'dark' || (theme === 'auto' && dark.matches));
      if (theme === 'auto') dark.addEventListener('change', apply);
      apply();
    }

    headingText(n) {
      const count = countText(this.s, n);
      const src = this.w?.title_source;
      const title = this.host.dataset.title || (src == 'og' ? document.querySelector('meta[property="og:title"]')?.content : src == 'document' && document.title);
      return title ? fill(this.s.heading_title, { count, title }) : count;
    }

    fetchThread() {
      return get('api/comments', [['post', this.post]], this.site);
    }

    async load(request = this.fetchThread()) {
      const adopting = this.nodes.size > 0;
      if (!adopting) this.say(this.s.loading);
      let data;
      try {
        const res = await request;
        if (!res.ok) throw new Error('HTTP ' + res.status);
        data = await res.json();
      } catch (err) {
        console.warn('Parley: comments could not be loaded', err);
        this.say(this.s.load_failed, h('button', { type: 'button', class: 'link', text: this.s.retry, onclick: () => this.load() }));
        return;
      }
      this.say('');
      // The site's settings fill in what the tag leaves unsaid.
      const s = strings(this.host, (this.w = data.widget)?.language);
      if (s.lang != this.s.lang) this.form.replaceWith(this.form = this.lang(s).buildForm());
      this.applyTheme();
      const complete = this.render(data);
      this.reveal();
      this.host.dispatchEvent(new CustomEvent('parley:ready', { bubbles: true, detail: { post: this.post, count: data.count } }));
      await complete;
    }

    say(text, ...extra) {
      this.status.replaceChildren(text, ...extra);
      this.status.hidden = !text;
    }

    // render brings the list in line with data, keeping every node that is
    // already right (a server-rendered fragment is enhanced, not redrawn),
    // a whole thread at a time (see FIRST; a permalinked one comes at once).
    // It resolves once every comment is in.
    render(data) {
      const byId = new Map(data.comments.map((c) => [c.id, c]));
      const rootOf = (c) => {
        for (let hops = 0; c.parent && byId.has(c.parent) && hops < 100; hops++) c = byId.get(c.parent);
        return c;
      };
      const threads = new Map(); // top-level id → its comments, oldest first
      for (const c of data.comments) if (rootOf(c) === c) threads.set(c.id, []);
      for (const c of data.comments) (threads.get(rootOf(c).id) ?? threads.set(c.id, []).get(c.id)).push(c);
      const old = this.nodes;
      this.nodes = new Map();
      for (const [id, li] of old) if (!byId.has(id)) li.remove();
      this.permalink = location.href.split('#')[0] + '#parley-'; // absolute: a page's <base href> would send '#…' elsewhere
      let prev = null; // the last top-level comment placed
      const place = (thread) => {
        for (const c of thread) this.nodes.set(c.id, this.node(c, old.get(c.id)));
        for (const c of thread) {
          const li = this.nodes.get(c.id);
          const parent = c.parent && this.nodes.get(c.parent);
          if (parent) repliesOf(parent).append(li);
          else if ((prev ? prev.nextElementSibling : this.list.firstElementChild) !== li) prev ? prev.after(li) : this.list.prepend(li);
          if (!parent) prev = li;
        }
      };
      const queue = [...threads.values()];
      const hash = this.hashId();
      const wanted = hash.startsWith('parley-') && byId.get(hash.slice(7));
      const linked = wanted && queue.find((thread) => thread.includes(wanted));
      for (let n = 0, reached = !linked; queue.length && (n < FIRST || !reached);) {
        const thread = queue.shift();
        place(thread);
        n += thread.length;
        reached ||= thread === linked;
      }
      this.heading.textContent = this.headingText(data.count);
      this.heading.hidden = false;
      return new Promise((resolve) => {
        const finish = () => {
          while (queue.length) place(queue.shift());
          this.rest = null;
          const pending = load('sessionStorage', this.pendingKey, []).filter((p) => !byId.has(p.id));
          save('sessionStorage', this.pendingKey, pending.length ? pending : null);
          for (const p of pending) this.showPending(p);
          resolve();
        };
        const slice = () => {
          if (this.rest !== finish) return; // a later render took over
          for (const end = performance.now() + SLICE_MS; queue.length && performance.now() < end;) place(queue.shift());
          if (queue.length) idle(slice);
          else finish();
        };
        this.rest = finish; // reveal calls it for a permalink not yet in
        if (queue.length) idle(slice);
        else finish();
      });
    }

    // node returns the <li> for c: the existing one, enhanced, when it
    // still shows the right state; else a new one.
    node(c, old) {
      if (old && old.classList.contains('parley-deleted') === !!c.deleted) {
        if (!c.deleted) this.enhance(old, c);
        return old;
      }
      const li = c.deleted ? this.tombstone(c) : this.comment(c);
      if (old) {
        const replies = old.querySelector(':scope > ol');
        if (replies) li.append(replies);
        old.replaceWith(li);
      }
      return li;
    }

    tombstone(c) {
      return h('li', { class: 'parley-comment parley-deleted', id: 'parley-' + c.id, 'data-parley-id': c.id, part: 'comment' },
        h('p', { class: 'parley-body', text: this.s.deleted }));
    }

    // comment builds a comment from a clone of one prototype: far cheaper
    // than creating each element, which counts on a thread of hundreds.
    comment(c) {
      this.proto ||= h('li', { class: 'parley-comment', part: 'comment', itemprop: 'comment', itemscope: true, itemtype: COMMENT },
        h('div', { class: 'parley-meta' },
          h('span', { class: 'parley-author', itemprop: 'author', itemscope: true, itemtype: PERSON }),
          h('a', { class: 'parley-permalink' }, h('time', { itemprop: 'dateCreated' }))),
        h('div', { class: 'parley-body', itemprop: 'text', dir: 'auto' }),
        h('div', { class: 'parley-actions' }, this.replyButton()));
      const li = this.proto.cloneNode(true);
      li.id = 'parley-' + c.id;
      li.dataset.parleyId = c.id;
      const [meta, body, actions] = li.children;
      const [author, link] = meta.children;
      const name = h('span', { itemprop: 'name', dir: 'auto', text: c.author });
      author.append(c.website ? h('a', { href: c.website, rel: 'nofollow ugc noopener', itemprop: 'url' }, name) : name);
      if (c.site) link.before(h('span', { class: 'parley-site', text: this.s.site }));
      link.href = this.permalink + c.id;
      link.firstChild.dateTime = c.created;
      this.label(li, c, link);
      inert.innerHTML = c.html; // the server's sanitized HTML, parsed inert
      body.append(inert.content);
      actions.firstChild.setAttribute('aria-label', fill(this.s.reply_to, { author: isolate(c.author) }));
      return li;
    }

    // label writes the localized date, and names the permalink after the
    // comment's author: a list of links then tells the comments apart.
    label(li, c, link = li.querySelector(':scope > .parley-meta > .parley-permalink')) {
      const date = this.dates.format(new Date(c.created));
      link.firstChild.textContent = date;
      link.setAttribute('aria-label', fill(this.s.permalink, { author: isolate(c.author), date }));
    }

    replyButton() {
      return h('button', { type: 'button', class: 'link parley-reply', 'aria-expanded': 'false', part: 'button', text: this.s.reply });
    }

    // enhance gives a server-rendered comment its localized date and a Reply
    // button in place of its link to the no-JavaScript page.
    enhance(li, c) {
      if (li.querySelector(':scope > .parley-meta > .parley-permalink')) this.label(li, c);
      const actions = li.querySelector(':scope > .parley-actions');
      if (!actions || actions.querySelector('button')) return;
      const button = this.replyButton();
      button.setAttribute('aria-label', fill(this.s.reply_to, { author: isolate(c.author) }));
      actions.replaceChildren(button);
    }

    showPending(p) {
      const li = h('li', { class: 'parley-comment parley-pending', id: 'parley-pending-' + p.id, tabindex: '-1', part: 'comment' },
        h('div', { class: 'parley-meta' }, h('span', { class: 'parley-author', dir: 'auto', text: p.author }),
          h('span', { class: 'parley-badge', text: this.s.awaiting })),
        h('div', { class: 'parley-body pending', dir: 'auto', text: p.body }));
      const parent = p.parent && this.nodes.get(p.parent);
      (parent ? repliesOf(parent) : this.list).append(li);
      return li;
    }

    // hashId is the address's fragment, decoded ('' when it is not valid).
    hashId() {
      try {
        return decodeURIComponent(location.hash.slice(1));
      } catch {
        return ''; // not one of ours
      }
    }

    // reveal scrolls a comment permalink (#parley-ID) into view, and shows
    // the confirmation after a plain form post came back (#parley-submitted).
    reveal() {
      const id = this.hashId();
      if (id === 'parley-submitted') return this.say(this.s.sent);
      if (id.startsWith('parley-') && !this.root.getElementById(id)) this.rest?.();
      const target = id.startsWith('parley-') && this.root.getElementById(id);
      if (!target) return;
      this.root.querySelector('.parley-target')?.classList.remove('parley-target');
      target.classList.add('parley-target');
      this.frame.classList.add('laid-out'); // estimated heights above would land the scroll astray
      target.scrollIntoView({ block: 'start' });
    }

    buildForm() {
      const s = this.s;
      const me = load('localStorage', ME, null);
      const field = (name, type, props = {}, hint = null) => {
        const required = name !== 'website';
        const input = h(type === 'textarea' ? 'textarea' : 'input', {
          id: 'f-' + name, name, type: type === 'textarea' ? null : type, required,
          'aria-describedby': (hint ? 'h-' + name + ' ' : '') + 'e-' + name, value: me?.[name], ...props });
        return h('div', { class: 'field' },
          h('label', { for: 'f-' + name }, s[name], required ? h('span', { class: 'req', 'aria-hidden': 'true', text: ' *' }) : null),
          hint ? h('p', { class: 'hint', id: 'h-' + name, text: hint }) : null,
          input,
          h('p', { class: 'error', id: 'e-' + name, hidden: true }));
      };
      const check = (name, label) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name, checked: name === 'remember' && !!me }), ' ', label);
      const form = h('form', { novalidate: true, 'aria-labelledby': 'form-heading', part: 'form',
        onsubmit: (e) => { e.preventDefault(); this.submit(); },
        onkeydown: (e) => {
          if (e.key === 'Enter' && (e.ctrlKey || e.metaKey) && e.target.name === 'body') this.submit();
          if (e.key === 'Escape' && this.parent) this.closeReply(true);
        },
        onfocusin: () => this.prepare() },
      h('h3', { id: 'form-heading', text: s.form_heading }),
      h('p', { class: 'hint', text: s.moderated }),
      h('div', { class: 'row' },
        field('author', 'text', { autocomplete: 'name' }),
        field('email', 'email', { autocomplete: 'email' }, s.email_hint)),
      field('website', 'url', { autocomplete: 'url', placeholder: 'https://' }),
      field('body', 'textarea', { rows: 5 }, s.body_hint),
      // A field people never see: bots that fill every input give themselves away.
      h('div', { class: 'trap', 'aria-hidden': 'true' },
        h('label', { for: 'f-nickname', text: s.honeypot }),
        h('input', { id: 'f-nickname', name: 'nickname', type: 'text', tabindex: '-1', autocomplete: 'off' })),
      h('div', { class: 'checks' }, check('remember', s.remember), check('notify_published', s.notify_published),
        check('notify_replies', s.notify_replies)),
      h('p', { class: 'error summary', role: 'alert' }),
      h('div', { class: 'actions' },
        h('button', { type: 'submit', class: 'primary', part: 'button', text: s.submit }),
        h('button', { type: 'button', class: 'link cancel', hidden: true, text: s.cancel_reply, onclick: () => this.closeReply(true) })));
      return form;
    }

    // whenVisible gets a form token once the form scrolls into view, so that
    // readers who never reach the form cost the server nothing.
    whenVisible(form) {
      if (!('IntersectionObserver' in window)) return this.prepare();
      const seen = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          seen.disconnect();
          this.prepare();
        }
      });
      seen.observe(form);
    }

    // prepare asks for a form token (and solves its puzzle) ahead of the
    // submission; ready resolves to the fields to send along.
    prepare(fresh) {
      if (this.ready && !fresh) return this.ready;
      clearTimeout(this.refresh);
      const ready = get('api/form', [['post', this.post]], this.site).then(async (res) => {
        if (res.status === 404) return {}; // no anti-spam pipeline on this server
        if (!res.ok) throw new Error('HTTP ' + res.status);
        const t = await res.json();
        const left = Date.parse(t.expires) - Date.now() - 60000;
        if (left > 0) this.refresh = setTimeout(() => this.prepare(true), Math.min(left, 2 ** 31 - 1));
        const pow = await solve(t.pow);
        return pow ? { token: t.token, pow } : { token: t.token };
      }).catch((err) => {
        console.warn('Parley: no form token', err);
        if (this.ready === ready) this.ready = null; // try again at submission; the comment still goes
        return {};
      });
      this.ready = ready;
      return ready;
    }

    openReply(li, button) {
      this.closeReply(false);
      this.parent = li.dataset.parleyId;
      const author = li.querySelector('[itemprop=name]').textContent;
      this.opener = button;
      button.setAttribute('aria-expanded', 'true');
      this.form.querySelector('#form-heading').textContent = fill(this.s.reply_to, { author: isolate(author) });
      this.form.querySelector('.cancel').hidden = false;
      li.querySelector(':scope > .parley-actions').after(this.form);
      const empty = [...this.form.querySelectorAll('[required]')].find((el) => !el.value.trim());
      (empty || this.form.elements.body).focus();
    }

    closeReply(focus) {
      if (!this.parent) return;
      this.parent = '';
      this.opener.setAttribute('aria-expanded', 'false');
      if (focus) this.opener.focus();
      this.form.querySelector('#form-heading').textContent = this.s.form_heading;
      this.form.querySelector('.cancel').hidden = true;
      this.home.append(this.form);
    }

    showErrors(errors) {
      let first = null;
      for (const name of Object.keys(RULES)) {
        const input = this.form.elements[name];
        const out = this.form.querySelector('#e-' + name);
        out.textContent = errors[name] || '';
        out.hidden = !errors[name];
        if (errors[name]) input.setAttribute('aria-invalid', 'true');
        else input.removeAttribute('aria-invalid');
        if (errors[name] && !first) first = input;
      }
      return first;
    }

    async submit() {
      if (this.busy) return;
      const s = this.s;
      const els = this.form.elements;
      const sub = { post: this.post };
      for (const name of Object.keys(RULES)) sub[name] = els[name].value.trim();
      const errors = {};
      for (const name of Object.keys(RULES)) if (RULES[name](sub[name], s)) errors[name] = RULES[name](sub[name], s);
      const summary = this.form.querySelector('.summary');
      const first = this.showErrors(errors);
      if (first) {
        summary.textContent = s.fix;
        first.focus();
        return;
      }
      summary.textContent = '';
      Object.assign(sub, { nickname: els.nickname.value, notify_published: els.notify_published.checked, notify_replies: els.notify_replies.checked });
      if (this.parent) sub.parent = this.parent;
      const button = this.form.querySelector('.primary');
      this.busy = true;
      button.textContent = s.sending;
      this.form.setAttribute('aria-busy', 'true');
      try {
        Object.assign(sub, await this.prepare());
        let res;
        try {
          res = await fetch(endpoint('api/comments', [], this.site), { method: 'POST', credentials: 'omit',
            headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(sub) });
        } catch {
          summary.textContent = s.offline;
          return;
        }
        const answer = await res.json().catch(() => ({}));
        if (res.status === 202) return this.accepted(answer, sub);
        const err = answer.error || {};
        const fieldErrors = {};
        for (const [name, message] of Object.entries(err.fields || {})) {
          if (name in RULES) fieldErrors[name] = message.charAt(0).toUpperCase() + message.slice(1) + '.';
        }
        const firstBad = this.showErrors(fieldErrors);
        const other = Object.entries(err.fields || {}).filter(([name]) => !(name in RULES)).map(([n, m]) => n + ' ' + m + '.');
        summary.textContent = firstBad && !other.length ? s.fix : fill(s.failed, { message: other.join(' ') || err.message || 'HTTP ' + res.status + '.' });
        firstBad?.focus();
      } finally {
        this.busy = false;
        button.textContent = s.submit;
        this.form.removeAttribute('aria-busy');
      }
    }

    accepted(answer, sub) {
      const els = this.form.elements;
      const remember = els.remember.checked;
      save('localStorage', ME, remember ? { author: sub.author, email: sub.email, website: sub.website } : null);
      for (const name of Object.keys(RULES)) if (!remember || name === 'body') els[name].value = '';
      els.notify_published.checked = els.notify_replies.checked = false;
      const mine = { id: answer.id, parent: sub.parent || '', author: sub.author, body: sub.body };
      save('sessionStorage', this.pendingKey, [...load('sessionStorage', this.pendingKey, []), mine]);
      this.closeReply(false);
      this.say(this.s.sent);
      this.showPending(mine).focus();
      this.prepare(true); // tokens are single-use
    }
  }

  let shared;
  function sheet() {
    if (shared) return shared;
    shared = new CSSStyleSheet();
    shared.replaceSync(CSS);
    return shared;
  }

  // Theming: the page sets --parley-* custom properties on the container;
  // everything else stays inside the shadow root. Top-level comments skip
  // rendering off screen (content-visibility): a short first paint; a
  // permalink lays them all out (.laid-out) so its scroll lands true. That
  // clips paint to each box, so the box gets room for focus rings.
  const CSS = `
:host{display:block}
.root{--text:var(--parley-text,#1f2328);--muted:var(--parley-muted,#57606a);--bg:var(--parley-background,#fff);
--surface:var(--parley-surface,#f6f8fa);--border:var(--parley-border,#d0d7de);--accent:var(--parley-accent,#0a58ca);
--on-accent:var(--parley-on-accent,#fff);--error:var(--parley-error,#b42318);--radius:var(--parley-radius,6px);
--field-border:var(--parley-field-border,#6e7781);
font:var(--parley-font,inherit);font-size:var(--parley-font-size,1rem);line-height:1.5;color:var(--text);background:var(--bg);
padding:var(--parley-padding,1rem);border-radius:var(--radius);color-scheme:light}
.root.dark{--text:var(--parley-text,#e6edf3);--muted:var(--parley-muted,#a3adb8);--bg:var(--parley-background,#161b22);
--surface:var(--parley-surface,#0d1117);--border:var(--parley-border,#3d444d);--accent:var(--parley-accent,#6cb6ff);
--on-accent:var(--parley-on-accent,#0d1117);--error:var(--parley-error,#ff8e80);--field-border:var(--parley-field-border,#848d97);color-scheme:dark}
h2{font-size:1.3em;margin:0 0 .75em}h3{font-size:1.1em;margin:0 0 .25em}
a{color:var(--accent)}
ol{list-style:none;margin:0;padding:0}
ol ol{margin:.75em 0 0 var(--parley-indent,1.25em);padding-left:.75em;border-left:2px solid var(--border)}
.parley-comment{margin:0 0 1em;scroll-margin-top:1em}
.root:not(.laid-out)>ol>.parley-comment{content-visibility:auto;contain-intrinsic-size:auto 8em}
.root>ol>.parley-comment{padding:5px;margin:-5px 0 calc(1em - 5px);margin-inline:calc(-1*min(5px,var(--parley-padding,1rem)))}
.parley-meta{display:flex;flex-wrap:wrap;gap:.25em .6em;align-items:baseline;font-size:.9em;color:var(--muted)}
.parley-author{font-weight:600;color:var(--text)}
.parley-permalink{color:var(--muted)}
.parley-site,.parley-badge{font-size:.8em;padding:0 .5em;border:1px solid var(--accent);border-radius:1em;color:var(--accent)}
.parley-badge{border-color:var(--muted);color:var(--muted)}
.parley-body{overflow-wrap:anywhere}.parley-body>:first-child{margin-top:.25em}.parley-body>:last-child{margin-bottom:.25em}
.parley-body.pending{white-space:pre-wrap;margin:.25em 0}
.parley-deleted>.parley-body{color:var(--muted);font-style:italic}
.parley-pending{border:1px dashed var(--border);border-radius:var(--radius);padding:.5em}
.parley-target{outline:2px solid var(--accent);outline-offset:4px;border-radius:2px}
blockquote{margin:.5em 0;padding-left:.75em;border-left:3px solid var(--border);color:var(--muted)}
pre{overflow:auto;background:var(--surface);padding:.5em;border-radius:var(--radius)}
code{font-size:.9em}
form{margin-top:1.5em;display:grid;gap:.75em}
.parley-comment form{margin:.75em 0}
.row{display:grid;gap:.75em;grid-template-columns:repeat(auto-fit,minmax(12em,1fr))}
.field{display:grid;gap:.2em;align-content:start}
label{font-weight:600}
.hint{margin:0;font-size:.9em;color:var(--muted)}
.req{color:var(--error)}
input,textarea{font:inherit;color:var(--text);background:var(--surface);border:1px solid var(--field-border);border-radius:var(--radius);
padding:.45em .6em;width:100%;box-sizing:border-box}
textarea{resize:vertical;min-height:6em}
[aria-invalid=true]{border-color:var(--error);box-shadow:0 0 0 1px var(--error)}
.error{margin:0;color:var(--error);font-size:.9em}.error:empty{display:none}
.checks{display:grid;gap:.3em}
.check{font-weight:400;display:flex;gap:.4em;align-items:center}.check input{width:auto;margin:0}
.trap{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.actions{display:flex;gap:1em;align-items:center}
button{font:inherit;cursor:pointer;border-radius:var(--radius)}
.primary{background:var(--accent);color:var(--on-accent);border:0;padding:.5em 1.1em;font-weight:600}
.link{background:none;border:0;padding:0;color:var(--accent);text-decoration:underline}
.parley-actions{font-size:.9em}
[aria-busy=true] .primary{opacity:.7;cursor:progress}
:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
.status{margin:0 0 1em;color:var(--muted)}
[hidden]{display:none!important}
`;

  for (const el of document.querySelectorAll('#parley, [data-parley]')) {
    if (!el.shadowRoot) new Widget(el);
  }
  if (document.querySelector('[data-parley-count]')) fillCounts();
})();
