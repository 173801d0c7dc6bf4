// Parley count script, for listing pages:
//
//   <a href="/2015/12/xi-wuzhen#parley" data-parley-count="/2015/12/xi-wuzhen">Comments</a>
//   <script src="https://comments.example.com/count.js" async></script>
//
// fills every [data-parley-count="KEY"] element with its post's count text
// ("3 Comments"), with one /api/counts request for all of them. The counting,
// the plural rules and the one strings table live in embed.js (which a post
// page has cached already), so this script loads it, passing on its data
// attributes (data-lang, data-strings); embed.js mounts no widget where the
// page has no #parley or [data-parley] container.
(() => {
  'use strict';
  const me = document.currentScript;
  if (!me || !me.src) return;
  const src = new URL('embed.js', me.src).href;
  if ([...document.scripts].some((s) => s.src === src)) return; // embed.js fills the counts itself
  const embed = document.createElement('script');
  embed.src = src;
  embed.async = true;
  Object.assign(embed.dataset, me.dataset);
  document.head.append(embed);
})();
