import t from 'tap';
import { externalizeInlineScripts, findCspViolations, findCspViolationsInScript } from '../../scripts/csp-html.js';

// The page SvelteKit 2 writes for a static SPA (adapter-static fallback), abridged.
const fallbackPage = `<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8" />
    <link href="/_app/immutable/entry/start.D3ghQd7B.js" rel="modulepreload">
    <link href="/_app/immutable/assets/0.DULKKi5n.css" rel="stylesheet">
  </head>
  <body data-sveltekit-preload-data="hover">
    <!-- a comment with style="x" and onclick="y" is not markup -->
    <div class="app-root">
      <script>
        {
          __sveltekit_1f3s2g = { base: "" };
          const element = document.currentScript.parentElement;
          Promise.all([import("/_app/immutable/entry/start.D3ghQd7B.js")]).then(([kit]) => kit.start(element));
        }
      </script>
    </div>
  </body>
</html>`;

t.test('an inline bootstrap script moves to a content-addressed file in the same place', async (t) => {
  const { html, scripts } = externalizeInlineScripts(fallbackPage, '/_app/immutable/inline/');
  t.equal(scripts.length, 1);
  const [script] = scripts;
  t.match(script?.fileName, /^inline\.[0-9a-f]{16}\.js$/);
  t.match(script?.content, /document\.currentScript\.parentElement/);
  t.match(html, new RegExp(`<div class="app-root">\\s*<script src="/_app/immutable/inline/${script?.fileName}"></script>\\s*</div>`));
  t.notMatch(html, /__sveltekit_/);
  t.same(findCspViolations(html), []);

  const again = externalizeInlineScripts(fallbackPage, '/_app/immutable/inline/');
  t.equal(again.scripts[0]?.fileName, script?.fileName, 'the same content gets the same name');
  const other = externalizeInlineScripts(fallbackPage.replace('1f3s2g', 'zz9zz9'), '/_app/immutable/inline/');
  t.not(other.scripts[0]?.fileName, script?.fileName, 'other content gets another name');
});

t.test('rewriting is idempotent and keeps attributes and external scripts', async (t) => {
  const page = '<script type="module">import "/a.js";</script><script src="/b.js" defer></script><script>x()</script><script>x()</script>';
  const { html, scripts } = externalizeInlineScripts(page, '/p/');
  t.equal(scripts.length, 2, 'two distinct scripts; the identical second x() shares a file');
  const moduleFile = externalizeInlineScripts('<script type="module">import "/a.js";</script>', '/p/').scripts[0]?.fileName;
  t.match(html, `<script type="module" src="/p/${moduleFile}"></script>`);
  t.match(html, '<script src="/b.js" defer></script>');
  t.same(externalizeInlineScripts(html, '/p/'), { html, scripts: [] });
});

t.test('data blocks stay inline and are reported', async (t) => {
  const page = '<script type="application/json" data-sveltekit-fetched>{"a":1}</script><script type="importmap">{}</script>';
  const { html, scripts } = externalizeInlineScripts(page, '/p/');
  t.same(scripts, []);
  t.equal(findCspViolations(html).length, 2);
});

t.test('everything the CSP refuses in a page is reported', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['<script>alert(1)</script>', /inline <script>/],
    ['<SCRIPT >alert(1)</SCRIPT >', /inline <script>/],
    ['<script src="/a.js">alert(1)</script>', /<script src> with a body/],
    ['<style>body{color:red}</style>', /inline <style>/],
    ['<div style="display: contents">x</div>', /style attribute on <div>/],
    ["<p STYLE='color:red'>x</p>", /style attribute on <p>/],
    ['<img src="/x.png" onerror="alert(1)">', /event handler attribute onerror on <img>/],
    ['<body onload=init()>', /event handler attribute onload on <body>/],
    ['<a href=" javascript:alert(1)">x</a>', /javascript: URL in href on <a>/],
    ['<form action="JavaScript:void(0)"></form>', /javascript: URL in action on <form>/],
    ['<div class="a" <b>', /could not be parsed/],
  ];
  for (const [html, expected] of cases) {
    t.match(findCspViolations(html).join('\n'), expected, html);
  }
});

t.test('allowed markup is not reported', async (t) => {
  const html =
    '<link rel="stylesheet" href="/_app/a.css"><script src="/a.js"></script><a href="/cases/new" data-testid="case-new" data-on="x">' +
    '<img src="data:image/png;base64,AAAA" alt="style=bold onclick=no"></a><input type="text" disabled>';
  t.same(findCspViolations(html), []);
});

t.test('style and handler attributes in markup strings of built scripts are reported', async (t) => {
  // How Svelte 5 compiles static markup (here SvelteKit's own route announcer) into a script.
  const announcer = 'var Ke=I(\'<div id="svelte-announcer" aria-live="assertive" aria-atomic="true" style="position: absolute; left: 0"><!></div>\');';
  t.match(findCspViolationsInScript(announcer).join('\n'), /style attribute on <div>/);
  t.match(findCspViolationsInScript('I(`<button onclick="go()">x</button>`)').join('\n'), /onclick attribute on <button>/);
  t.same(findCspViolationsInScript('var a=I(\'<div id="svelte-announcer" aria-live="assertive"><!></div>\');el.style.left="0";if(a<b&&c>d)x()'), []);
});
