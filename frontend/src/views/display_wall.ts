// The big screen's photo wall: one large featured photo above a strip of
// the recent ones. Photos are shown whole (never cropped): every tile takes
// the photo's own aspect ratio from `width`/`height` (protocol.md PhotoView),
// and the caption under it keeps the ♥ count in view however long the
// comment is.

import { h, setText, syncList } from '../dom';
import type { RoomState } from '../state';
import type { PhotoView } from '../types';
import { likedByText } from './photos';

/** Photos on the strip (the featured one included). */
const WALL = 8;
/** The featured photo rotates among the newest few. */
const ROTATION = 6;
const ROTATE_MS = 8000;

export interface DisplayWall {
  el: HTMLElement;
  update(state: RoomState): void;
  stop(): void;
}

/**
 * Which photo is featured: a photo that just arrived takes the big frame at
 * once (the sharer looks up and sees it, which is the point of the wall),
 * then every 8 s the frame moves on to the next of the newest six. Showing
 * only the newest would leave one picture up all night in a quiet room; a
 * rotation keeps the wall alive and gives earlier photos their moment too,
 * while a fresh one never waits its turn.
 */
export function displayWall(): DisplayWall {
  const feature = h(
    'figure',
    { class: 'd-feature', 'data-testid': 'featured-photo', hidden: true },
    h('div', { class: 'd-feature-frame' }, h('img', { alt: '' })),
    caption(),
  );
  const wall = h('ul', { class: 'd-wall', 'data-testid': 'photo-wall', 'aria-label': 'Recent photos' });
  const empty = h('p', { class: 'empty' }, 'Share photos from your phone: they appear here.');
  const el = h('section', { class: 'd-photos', 'aria-labelledby': 'd-photos' }, h('h2', { id: 'd-photos' }, 'Photo wall'), empty, feature, wall);

  let latest: RoomState | null = null;
  let featuredId: string | null = null;
  let newestSeen: string | null = null;
  let timer: number | undefined;

  const draw = () => {
    const state = latest;
    if (!state) return;
    const photos = state.photos.filter((p) => p.urls).slice(0, WALL);
    empty.hidden = photos.length > 0;
    const newest = photos[0]?.id ?? null;
    if (newest !== newestSeen) {
      newestSeen = newest;
      featuredId = newest;
      restart();
    } else if (!photos.some((p) => p.id === featuredId)) {
      featuredId = newest; // the featured photo was removed
    }
    const shown = photos.find((p) => p.id === featuredId) ?? null;
    drawFeature(feature, shown, state);
    syncList(wall, photos, (p) => p.id, tile, (li, p) => {
      drawCaption(li, p, state);
      li.classList.toggle('is-featured', p.id === featuredId);
    });
  };

  const advance = () => {
    const recent = (latest?.photos ?? []).filter((p) => p.urls).slice(0, ROTATION);
    if (recent.length > 1) {
      const at = recent.findIndex((p) => p.id === featuredId);
      featuredId = recent[(at + 1) % recent.length].id;
      draw();
    }
  };
  const restart = () => {
    window.clearInterval(timer);
    timer = window.setInterval(advance, ROTATE_MS);
  };

  return {
    el,
    update(state) {
      latest = state;
      draw();
    },
    stop() {
      window.clearInterval(timer);
    },
  };
}

function caption(): HTMLElement {
  return h(
    'figcaption',
    { class: 'd-caption' },
    h('span', { class: 'd-by', 'data-part': 'by' }),
    h('span', { class: 'd-likes', 'data-part': 'likes', 'data-testid': 'likes' }),
  );
}

function tile(p: PhotoView): HTMLElement {
  const li = h(
    'li',
    { class: 'd-photo', 'data-testid': 'photo', 'data-photo-id': p.id },
    h('figure', {}, h('div', { class: 'd-photo-frame' }, h('img', { src: p.urls?.thumb ?? '', alt: altText(p), width: p.width, height: p.height })), caption()),
  );
  setAspect(li, p);
  return li;
}

function drawFeature(el: HTMLElement, p: PhotoView | null, state: RoomState): void {
  el.hidden = !p;
  if (!p) return;
  const img = el.querySelector('img') as HTMLImageElement;
  if (el.dataset.photoId !== p.id) {
    el.dataset.photoId = p.id;
    img.src = p.urls?.preview ?? '';
    img.alt = altText(p);
    img.width = p.width;
    img.height = p.height;
    setAspect(el, p);
    // A soft change of picture, unless the viewer asked for less motion.
    if (typeof img.animate === 'function' && !matchMedia('(prefers-reduced-motion: reduce)').matches) {
      img.animate([{ opacity: 0 }, { opacity: 1 }], { duration: 600 });
    }
  }
  drawCaption(el, p, state);
}

function drawCaption(el: HTMLElement, p: PhotoView, state: RoomState): void {
  const by = el.querySelector('[data-part="by"]') as HTMLElement;
  const likes = el.querySelector('[data-part="likes"]') as HTMLElement;
  by.replaceChildren(h('strong', {}, p.member_name), p.comment ? `: ${p.comment}` : '');
  setText(likes, `♥ ${p.likes}`);
  likes.setAttribute('aria-label', `${p.likes} ${p.likes === 1 ? 'like' : 'likes'}`);
  likes.title = likedByText(p, state.me.id);
}

/** The tile's shape is the photo's: `--ar` drives `aspect-ratio` and the strip's widths. */
function setAspect(el: HTMLElement, p: PhotoView): void {
  const ratio = p.width > 0 && p.height > 0 ? p.width / p.height : 1;
  el.style.setProperty('--ar', ratio.toFixed(4));
}

function altText(p: PhotoView): string {
  return p.comment ? `Photo by ${p.member_name}: ${p.comment}` : `Photo by ${p.member_name}`;
}
