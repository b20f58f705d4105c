// The photo wall: share a photo from the camera or the gallery (multipart
// upload with the member token), like photos (names of likers shown),
// report or remove them, page older ones.

import { ApiError, olderPhotos, uploadPhoto } from '../api';
import { h, part, setText, syncList } from '../dom';
import { describeError } from '../errors';
import { addOlderPhotos, isStaff, setPhotoLikes, type RoomState } from '../state';
import type { LikeAck, PhotoView } from '../types';
import { inlineStatus } from '../notice';
import type { RoomContext, Section } from './view';

const MAX_PHOTO_BYTES = 15 * 1024 * 1024;

export function photosSection(ctx: RoomContext): Section {
  const input = h('input', {
    id: 'photo-input',
    type: 'file',
    // The camera or the gallery (no `capture`: it would force the camera);
    // the formats the server takes.
    accept: 'image/jpeg,image/png,image/webp',
    class: 'visually-hidden',
    'data-testid': 'photo-input',
  });
  const comment = h('input', { id: 'photo-comment', 'data-testid': 'photo-comment', maxlength: 280, placeholder: 'Say something about your photo' });
  // Beside the button: what happened to the upload (also in the toast).
  const progress = inlineStatus(ctx.notice, 'photo-status', input, comment);
  const wall = h('ul', { class: 'photo-wall', 'data-testid': 'photo-wall', 'aria-labelledby': 'photos-heading' });
  const empty = h('p', { class: 'empty', 'data-testid': 'photos-empty' }, 'No photos yet. Be the first to share one!');
  const older = h('button', { type: 'button', class: 'secondary', 'data-testid': 'older-photos', hidden: true }, 'Show older photos');
  const olderStatus = inlineStatus(ctx.notice, 'older-photos-status', older);
  const el = h(
    'section',
    { class: 'card photos', id: 'photos' },
    h('h2', { id: 'photos-heading' }, 'Photo wall'),
    h(
      'div',
      { class: 'upload' },
      h('label', { for: 'photo-comment' }, 'Caption (optional)'),
      comment,
      // The label is the visible button; the real file input stays focusable
      // (its focus ring is drawn on the label, see app.css).
      input,
      h('label', { for: 'photo-input', class: 'button primary file-button' }, 'Share a photo'),
      progress.el,
    ),
    empty,
    wall,
    older,
    olderStatus.el,
  );

  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    if (file.size > MAX_PHOTO_BYTES) {
      progress.show('This photo is larger than 15 MB. Pick a smaller one.', 'error');
      input.value = '';
      return;
    }
    input.disabled = true;
    progress.show('Uploading your photo…', 'info');
    try {
      await uploadPhoto(ctx.code, ctx.token, file, comment.value);
      comment.value = '';
      progress.show('Photo shared! It appears on the wall in a moment.', 'success');
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError('internal', String(err), 0);
      progress.show(`Your photo was not shared. ${describeError(e, e.retryAfter)}`, 'error');
    } finally {
      input.disabled = false;
      input.value = '';
    }
  });

  older.addEventListener('click', async () => {
    const cursor = ctx.conn.state?.photosNext;
    if (!cursor) return;
    older.disabled = true;
    try {
      const page = await olderPhotos(ctx.code, ctx.token, cursor);
      ctx.conn.edit((s) => addOlderPhotos(s, page.photos, page.next));
    } catch (err) {
      if (err instanceof ApiError) olderStatus.show(describeError(err, err.retryAfter), 'error');
    } finally {
      older.disabled = false;
    }
  });

  const photos = new WeakMap<HTMLElement, PhotoView>();
  /** Photos whose like or unlike is on its way: taps wait for the answer. */
  const liking = new Set<string>();
  /** Photos I reported (this page): the button stays "Reported". */
  const reported = new Set<string>();
  const say = (li: HTMLElement, text: string, kind: 'success' | 'error' | 'info') => {
    const status = part(li, 'photo-row-status');
    setText(status, text);
    status.dataset.kind = kind;
    ctx.notice.show(text, kind);
  };
  const act = async (event: string, li: HTMLElement, done?: string) => {
    const photo = photos.get(li);
    if (!photo) return;
    const like = event === 'photo:like' || event === 'photo:unlike';
    if (like) {
      if (liking.has(photo.id)) return;
      liking.add(photo.id);
      ctx.conn.edit(() => undefined);
    }
    const ack = await ctx.conn.command<LikeAck>(event, { photo_id: photo.id });
    if (like) liking.delete(photo.id);
    if (!ack.ok) say(li, describeError(ack.error), 'error');
    else if (like) ctx.conn.edit((s) => setPhotoLikes(s, ack.data));
    else {
      if (event === 'photo:report') reported.add(photo.id);
      if (done) say(li, done, 'success');
    }
    ctx.conn.edit(() => undefined);
  };
  const create = (photo: PhotoView): HTMLElement => {
    const li = h('li', { class: 'photo', 'data-testid': 'photo', 'data-photo-id': photo.id });
    const link = h(
      'a',
      { href: photo.urls?.full ?? '#', target: '_blank', rel: 'noopener', class: 'photo-link' },
      h('img', {
        src: photo.urls?.thumb ?? '',
        alt: photo.comment ? `Photo by ${photo.member_name}: ${photo.comment}` : `Photo by ${photo.member_name}`,
        loading: 'lazy',
        width: photo.width,
        height: photo.height,
      }),
    );
    li.append(
      link,
      h(
        'div',
        { class: 'photo-info' },
        h('p', { class: 'photo-by' }, photo.member_name, photo.comment ? h('span', { class: 'photo-comment' }, ` — ${photo.comment}`) : null),
        h(
          'div',
          { class: 'photo-actions' },
          h('button', { type: 'button', class: 'like small', 'data-part': 'like', 'data-testid': 'like', onclick: () => toggleLike(li) }),
          h('button', { type: 'button', class: 'small secondary', 'data-part': 'report', 'data-testid': 'report-photo', onclick: () => act('photo:report', li, 'Thanks, the hosts were told.') }, 'Report'),
          h('button', { type: 'button', class: 'small danger', 'data-part': 'remove', 'data-testid': 'remove-photo', onclick: () => act('photo:remove', li, 'Photo removed.') }, 'Remove'),
        ),
        h('p', { class: 'liked-by', 'data-part': 'liked-by', 'data-testid': 'liked-by' }),
        h('p', { class: 'inline-status', 'data-part': 'photo-row-status', 'data-testid': 'photo-row-status' }),
      ),
    );
    return li;
  };
  const toggleLike = (li: HTMLElement) => act(photos.get(li)?.liked ? 'photo:unlike' : 'photo:like', li);

  return {
    el,
    update(state) {
      empty.hidden = state.photos.length > 0;
      older.hidden = !state.photosNext;
      syncList(wall, state.photos, (p) => p.id, create, (li, photo) => {
        photos.set(li, photo);
        drawPhoto(li, photo, state, liking.has(photo.id), reported.has(photo.id));
      });
    },
  };
}

function drawPhoto(li: HTMLElement, photo: PhotoView, state: RoomState, liking: boolean, reported: boolean): void {
  const like = part(li, 'like');
  const liked = photo.liked === true;
  setText(like, `${liked ? '♥' : '♡'} ${photo.likes}`);
  like.setAttribute('aria-pressed', String(liked));
  like.setAttribute('aria-busy', String(liking));
  like.setAttribute('aria-label', `${liked ? 'Unlike' : 'Like'} photo by ${photo.member_name} (${photo.likes} ${photo.likes === 1 ? 'like' : 'likes'})`);
  const mine = photo.member_id === state.me.id;
  const report = part<HTMLButtonElement>(li, 'report');
  report.hidden = mine;
  report.disabled = reported;
  setText(report, reported ? 'Reported' : 'Report');
  report.setAttribute('aria-label', reported ? `You reported this photo by ${photo.member_name}` : `Report photo by ${photo.member_name}`);
  part(li, 'remove').hidden = !mine && !isStaff(state);
  setText(part(li, 'liked-by'), likedByText(photo, state.me.id));
}

/** “Liked by you, Hana and 3 others” */
export function likedByText(photo: PhotoView, myId: string): string {
  if (photo.likes === 0) return '';
  const names = photo.liked_by.map((l) => (l.member_id === myId ? 'you' : l.name));
  const shown = names.slice(0, 3);
  const others = photo.likes - shown.length;
  if (others <= 0) return `Liked by ${joinNames(shown)}`;
  return `Liked by ${shown.join(', ')} and ${others} ${others === 1 ? 'other' : 'others'}`;
}

function joinNames(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
