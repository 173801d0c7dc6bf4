// Parley admin: spam by score. Marks every pending comment the classifier
// scores at or above a threshold as spam in one request; the queue (queue.js)
// takes them off the list and offers one Undo, which restores them all in
// one request.
'use strict';
(() => {
  const P = window.Parley;
  const form = document.getElementById('spam-by-score');
  if (!form) return;
  const list = document.getElementById('queue');

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const min = Number(form.elements.min_score.value);
    const submit = form.querySelector('[type="submit"]');
    submit.disabled = true;
    try {
      const res = await P.api('POST', '/api/admin/comments/spam-by-score', { min_score: min, post: list.dataset.post });
      P.refreshCounts();
      form.closest('details').open = false; // the panel would cover the queue and the Undo
      if (!res.changed) {
        P.toast('No pending comment has a spam score of ' + min + ' or more.');
        return;
      }
      const what = res.changed === 1 ? '1 comment' : res.changed + ' comments';
      document.dispatchEvent(new CustomEvent('parley:decided', {
        detail: {
          ids: res.ids,
          message: 'Marked as spam: ' + what + ' with a score of ' + min + ' or more.',
          undo: async () => {
            try {
              await P.api('POST', '/api/admin/comments/bulk', { ids: res.ids, action: 'restore' });
              P.toast('Undone: ' + what + ' back in the queue.', { slot: 'decision' });
            } catch (err) {
              P.toast('Could not undo: ' + err.message, { error: true });
              throw err;
            } finally {
              P.refreshCounts();
            }
          },
        },
      }));
    } catch (err) {
      P.toast('Could not mark by score: ' + err.message, { error: true });
    } finally {
      submit.disabled = false;
    }
  });
})();
