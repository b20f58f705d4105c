// Commands that wait a few seconds so they can be undone (kick, ban,
// removing a queue entry, skipping): the page says "Kicking Bea… Undo" and
// sends the command only when the time is up.
//
// A page that goes away first (closed, reloaded, navigated: `pagehide`, or
// the room view stopping) DROPS what is still waiting rather than sending
// it: a socket event sent while the page unloads may or may not leave, and
// an action the person did not see through is safer not done than done
// unseen. The person sees it did not happen when they come back.

export const UNDO_MS = 5000;

interface Waiting {
  timer: number;
  label: string;
}

export class Later {
  private readonly waiting = new Map<string, Waiting>();
  private readonly onPageHide = () => this.dropAll();

  constructor(private readonly changed: () => void) {
    window.addEventListener('pagehide', this.onPageHide);
  }

  /** Runs `run` after `UNDO_MS` unless undone; false if `key` already waits. */
  schedule(key: string, label: string, run: () => void, delay = UNDO_MS): boolean {
    if (this.waiting.has(key)) return false;
    const timer = window.setTimeout(() => {
      this.waiting.delete(key);
      run();
      this.changed();
    }, delay);
    this.waiting.set(key, { timer, label });
    this.changed();
    return true;
  }

  /** Undoes a waiting command; true if it was still waiting. */
  undo(key: string): boolean {
    const w = this.waiting.get(key);
    if (!w) return false;
    window.clearTimeout(w.timer);
    this.waiting.delete(key);
    this.changed();
    return true;
  }

  has(key: string): boolean {
    return this.waiting.has(key);
  }

  dropAll(): void {
    for (const w of this.waiting.values()) window.clearTimeout(w.timer);
    this.waiting.clear();
  }

  stop(): void {
    this.dropAll();
    window.removeEventListener('pagehide', this.onPageHide);
  }
}
