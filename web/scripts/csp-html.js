// Pure HTML rewriting and checking for the appliance's CSP (script-src 'self', style-src 'self', no hashes,
// no 'unsafe-inline'). Used by postbuild-csp.js; kept free of I/O so it can be tested on strings.
import { createHash } from 'node:crypto';

/**
 * @typedef {{ name: string, value: string | null }} Attribute
 * @typedef {{ fileName: string, content: string }} ExternalScript
 */

const SCRIPT_ELEMENT = /<script\b((?:[^>"']|"[^"]*"|'[^']*')*)>([\s\S]*?)<\/script\s*>/gi;
const TAG = /<([a-zA-Z][\w:-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
const TAG_START = /<[a-zA-Z]/g;
const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;
const COMMENT = /<!--[\s\S]*?-->/g;
// Scripts that may move to a file unchanged; data blocks (application/json, importmap) cannot.
const EXECUTABLE_TYPES = new Set(['', 'text/javascript', 'application/javascript', 'module']);
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href']);
// Svelte compiles static markup into HTML strings that the browser parses at run time, where the CSP
// refuses style and event-handler attributes just as in a page.
const MARKUP_ATTRIBUTE_IN_SCRIPT = /<([a-zA-Z][\w-]*)(?:\s[^<>]*)?\s(style|on[a-z]+)\s*=/g;

/**
 * @param {string} source the text between a tag's name and its closing `>`
 * @returns {Attribute[]}
 */
export function parseAttributes(source) {
  /** @type {Attribute[]} */
  const attributes = [];
  for (const match of source.matchAll(ATTRIBUTE)) {
    const raw = match[2];
    const value = raw === undefined ? null : raw.replace(/^(["'])([\s\S]*)\1$/, '$2');
    attributes.push({ name: (match[1] ?? '').toLowerCase(), value });
  }
  return attributes;
}

/**
 * @param {Attribute[]} attributes
 * @param {string} name
 */
function attribute(attributes, name) {
  return attributes.find((a) => a.name === name);
}

/**
 * Moves every inline executable `<script>` into a content-addressed file referenced by `src`, keeping its
 * other attributes (e.g. `type="module"`). Classic scripts stay classic, so `document.currentScript` still
 * names the element in the same place of the page.
 *
 * @param {string} html
 * @param {string} urlPrefix absolute URL path of the folder the files are served from, ending in `/`
 * @returns {{ html: string, scripts: ExternalScript[] }}
 */
export function externalizeInlineScripts(html, urlPrefix) {
  /** @type {ExternalScript[]} */
  const scripts = [];
  const rewritten = html.replace(SCRIPT_ELEMENT, (element, attributeSource, content) => {
    const attributes = parseAttributes(attributeSource);
    if (attribute(attributes, 'src')) return element;
    const type = (attribute(attributes, 'type')?.value ?? '').trim().toLowerCase();
    if (!EXECUTABLE_TYPES.has(type)) return element;
    const hash = createHash('sha256').update(content).digest('hex').slice(0, 16);
    const fileName = `inline.${hash}.js`;
    if (!scripts.some((s) => s.fileName === fileName)) scripts.push({ fileName, content });
    const kept = attributes.map((a) => (a.value === null ? a.name : `${a.name}="${a.value}"`));
    return `<script ${[...kept, `src="${urlPrefix}${fileName}"`].join(' ')}></script>`;
  });
  return { html: rewritten, scripts };
}

/**
 * Everything in a page that the CSP would block: inline scripts and styles, style attributes, event
 * handler attributes and javascript: URLs. Tags it cannot parse count as violations too (fail closed).
 *
 * @param {string} html
 * @returns {string[]}
 */
export function findCspViolations(html) {
  /** @type {string[]} */
  const violations = [];
  const withoutComments = html.replace(COMMENT, '');
  const withoutScriptBodies = withoutComments.replace(SCRIPT_ELEMENT, (element, attributeSource, content) => {
    const attributes = parseAttributes(attributeSource);
    const src = attribute(attributes, 'src');
    if (!src) violations.push(`inline <script>: ${snippet(content)}`);
    else if (content.trim() !== '') violations.push(`<script src> with a body: ${snippet(content)}`);
    return `<script${attributeSource}></script>`;
  });

  let tags = 0;
  for (const match of withoutScriptBodies.matchAll(TAG)) {
    tags += 1;
    const name = (match[1] ?? '').toLowerCase();
    if (name === 'style') violations.push('inline <style> element');
    for (const { name: attr, value } of parseAttributes(match[2] ?? '')) {
      if (attr === 'style') violations.push(`style attribute on <${name}>`);
      else if (attr.startsWith('on')) violations.push(`event handler attribute ${attr} on <${name}>`);
      else if (URL_ATTRIBUTES.has(attr) && value !== null && /^\s*javascript:/i.test(value)) {
        violations.push(`javascript: URL in ${attr} on <${name}>`);
      }
    }
  }
  const tagStarts = [...withoutScriptBodies.matchAll(TAG_START)].length;
  if (tagStarts !== tags) violations.push(`${tagStarts - tags} tag(s) that could not be parsed`);
  return violations;
}

/**
 * Style and event-handler attributes in markup strings of a built script (Svelte templates).
 *
 * @param {string} js
 * @returns {string[]}
 */
export function findCspViolationsInScript(js) {
  return [...js.matchAll(MARKUP_ATTRIBUTE_IN_SCRIPT)].map((match) => `${match[2]} attribute on <${match[1]}> in markup: ${snippet(match[0])}`);
}

/** @param {string} text */
function snippet(text) {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}
