// A tiny DOM toolkit: build elements, and keep a keyed list in step with
// data without rebuilding it (so focus, images and animations survive).

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;
type Child = Node | string | null | undefined | false;

/** `h('button', {class: 'x', onclick: fn, 'aria-label': 'Up'}, 'text')` */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name in el && typeof value !== 'string' && name !== 'class') (el as unknown as Record<string, unknown>)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child);
  }
}

/** Set text only when it changed (cheap for screen readers and layout). */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Find a descendant by its `data-part` name; the part must exist. */
export function part<T extends HTMLElement = HTMLElement>(root: Element, name: string): T {
  const el = root.querySelector<T>(`[data-part="${name}"]`);
  if (!el) throw new Error(`missing part ${name}`);
  return el;
}

const reducedMotion = typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;

/**
 * Makes `parent`'s children match `items`, reusing the element of each key:
 * new keys get `create`, every item gets `update`, gone keys are removed, and
 * moved elements slide from their old place (FLIP, Web Animations API).
 */
export function syncList<T>(
  parent: HTMLElement,
  items: readonly T[],
  key: (item: T) => string,
  create: (item: T) => HTMLElement,
  update: (el: HTMLElement, item: T, index: number) => void,
  animate = true,
): void {
  const existing = new Map<string, HTMLElement>();
  const before = new Map<string, DOMRect>();
  for (const child of Array.from(parent.children) as HTMLElement[]) {
    const k = child.dataset.key;
    if (k === undefined) continue;
    existing.set(k, child);
    if (animate && !reducedMotion) before.set(k, child.getBoundingClientRect());
  }
  const focused = document.activeElement;
  const wanted = new Set<string>();
  items.forEach((item, i) => {
    const k = key(item);
    wanted.add(k);
    let el = existing.get(k);
    if (!el) {
      el = create(item);
      el.dataset.key = k;
    }
    update(el, item, i);
    const at = parent.children[i] ?? null;
    if (at !== el) parent.insertBefore(el, at);
  });
  for (const [k, el] of existing) if (!wanted.has(k)) el.remove();
  // Moving a focused element blurs it: give keyboard users their place back.
  if (focused instanceof HTMLElement && focused !== document.activeElement && parent.contains(focused)) {
    focused.focus({ preventScroll: true });
  }
  if (before.size > 0) slide(parent, before);
}

function slide(parent: HTMLElement, before: Map<string, DOMRect>): void {
  for (const el of Array.from(parent.children) as HTMLElement[]) {
    const old = before.get(el.dataset.key ?? '');
    if (!old) {
      if (typeof el.animate === 'function') el.animate([{ opacity: 0 }, { opacity: 1 }], { duration: 250 });
      continue;
    }
    const now = el.getBoundingClientRect();
    const dx = old.left - now.left;
    const dy = old.top - now.top;
    if ((dx !== 0 || dy !== 0) && typeof el.animate === 'function') {
      el.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: 'none' }], { duration: 300, easing: 'ease-out' });
    }
  }
}
