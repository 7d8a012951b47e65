/**
 * Building the page from data without ever parsing it as markup: every string becomes a Text node or
 * an attribute value, so cluster names, tags, justifications, comments and URLs typed by anyone stay
 * text. Nothing in the dashboard assigns `innerHTML`.
 */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

export interface Props {
  readonly [attribute: string]: string | number | boolean | undefined | ((event: Event) => void);
}

function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
    return;
  }
  parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
}

/**
 * `h('a', { href: '?view=trend', onclick: fn }, 'Trend')`. Attributes are set with `setAttribute`
 * (values are never interpreted as markup); `on*` functions become listeners; `false`/`undefined`
 * leave the attribute out and `true` sets it empty.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const c of children) append(el, c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element (charts drawn without a library, e.g. sparklines). */
export function svg(tag: string, attrs: Readonly<Record<string, string | number>> = {}, ...children: Node[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.appendChild(c);
  return el;
}

export function clear(el: Element): void {
  while (el.firstChild !== null) el.removeChild(el.firstChild);
}
