// Parley admin forms: a <form data-api="URL" data-method="POST"> sends its
// fields as JSON with the CSRF token and shows the server's messages next to
// the fields. data-then says what follows success: reload, token (show a
// new secret once), message (data-success), forget (report a count).
// data-load fills the form from a GET first; data-list fields are one entry
// a line; data-feature names the feature for a friendly 404.
'use strict';
(() => {
  const P = window.Parley;

  // A name with dots ("settings.max_links") nests; data-type="number" or
  // "bool" converts, and such a field left empty is left out (it follows
  // the server's default), as is an empty data-optional list.
  function fields(form) {
    const body = {};
    for (const el of form.elements) {
      if (!el.name || el.type === 'submit') continue;
      let value = el.hasAttribute('data-list')
        ? el.value.split('\n').map(s => s.trim()).filter(Boolean)
        : el.value;
      const type = el.dataset.type;
      const nested = el.name.includes('.');
      if ((type || nested) && value === '') continue;
      if (el.hasAttribute('data-optional') && value.length === 0) continue;
      if (type === 'number') value = Number(value);
      if (type === 'bool') value = value === 'true';
      const path = el.name.split('.');
      let at = body;
      for (const key of path.slice(0, -1)) at = at[key] = at[key] || {};
      at[path[path.length - 1]] = value;
    }
    for (const el of form.querySelectorAll('[name*="."]')) {
      const top = el.name.split('.')[0];
      if (!(top in body)) body[top] = {}; // every setting left empty: all defaults
    }
    return body;
  }

  function status(form, message, isError) {
    const out = form.querySelector('.form-status');
    if (!out) { P.toast(message, { error: isError }); return; }
    out.textContent = message;
    out.classList.toggle('error', !!isError);
  }

  function clearErrors(form) {
    for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of form.querySelectorAll('.field-error')) el.remove();
  }

  function showErrors(form, err) {
    let first = null;
    for (const [name, message] of Object.entries(err.fields)) {
      const el = form.elements[name];
      if (!el || !el.id) continue;
      el.setAttribute('aria-invalid', 'true');
      const note = document.createElement('span');
      note.className = 'field-error';
      note.id = el.id + '-error';
      const label = form.querySelector('label[for="' + el.id + '"]');
      note.textContent = (label ? label.textContent.replace(/\s*\(.*\)$/, '') : name) + ' ' + message + '.';
      el.setAttribute('aria-describedby', note.id);
      el.after(note);
      first = first || el;
    }
    if (first) first.focus();
  }

  const then = {
    reload: () => location.reload(),
    message: (form) => {
      status(form, form.dataset.success || 'Saved.');
      if (form.hasAttribute('data-reset')) form.reset();
    },
    forget: (form, data) => {
      const n = data && typeof data.deleted === 'number' ? data.deleted : 0;
      status(form, n === 1 ? 'Deleted 1 comment.' : 'Deleted ' + n + ' comments.');
      form.reset();
    },
    token: (form, data) => {
      const box = document.getElementById('token-secret');
      const input = document.getElementById('token-value');
      input.value = data.token;
      box.hidden = false;
      form.hidden = true;
      input.focus();
      input.select();
      document.getElementById('token-done').addEventListener('click', () => location.reload(), { once: true });
    },
  };

  async function load(form) {
    try {
      const data = await P.api('GET', form.dataset.load, undefined, { feature: form.dataset.feature });
      for (const el of form.elements) {
        if (!el.name) continue;
        const value = el.name.split('.').reduce((at, key) => (at == null ? undefined : at[key]), data);
        if (value === undefined || value === null) continue;
        el.value = Array.isArray(value) ? value.join('\n') : String(value);
      }
    } catch (err) {
      status(form, err.message, true);
      if (err.status === 404) {
        for (const el of form.elements) el.disabled = true;
      }
    }
  }

  for (const form of document.querySelectorAll('form[data-api]')) {
    if (form.dataset.load) load(form);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
      clearErrors(form);
      const method = form.dataset.method || 'POST';
      const button = form.querySelector('[type="submit"]');
      button.disabled = true;
      status(form, 'Working…');
      try {
        const data = await P.api(method, form.dataset.api, method === 'DELETE' ? undefined : fields(form),
          { feature: form.dataset.feature });
        status(form, '');
        (then[form.dataset.then] || then.message)(form, data);
      } catch (err) {
        status(form, err.message, true);
        showErrors(form, err);
      } finally {
        button.disabled = false;
      }
    });
  }
})();
