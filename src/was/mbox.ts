import type { FlashMessage, Session } from './session.js';

/**
 * `was.mbox`: flash messages. `push` stores a message in the session; `get` returns the pending
 * messages and removes them, so a message pushed before a redirect is shown once, on the page the
 * redirect leads to (or on this one, if it reads them first). Templates read them the same way:
 * `{% for m in mbox.get() %}`.
 */
export class MessageBox {
  constructor(readonly session: Session) {}

  /** Queue a message for the next page. `category` is free text (`info`, `error`...), default `info`. */
  push(message: string, category = 'info'): this {
    this.session.messages.push({ message: String(message), category: String(category) });
    try {
      this.session.touchMessages(true);
    } catch (err) {
      this.session.messages.pop();
      throw err;
    }
    return this;
  }

  /** Take the pending messages (only those of `category`, when given); they will not be shown again. */
  get(category?: string): FlashMessage[] {
    const all = this.session.messages;
    const taken = category === undefined ? all.slice() : all.filter((m) => m.category === category);
    if (taken.length === 0) return [];
    const kept = category === undefined ? [] : all.filter((m) => m.category !== category);
    all.length = 0;
    all.push(...kept);
    this.session.touchMessages();
    return taken;
  }

  /** The pending messages, left in place. */
  peek(): readonly FlashMessage[] {
    return this.session.messages.slice();
  }

  get size(): number {
    return this.session.messages.length;
  }
}
