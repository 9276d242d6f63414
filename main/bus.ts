/**
 * The one event bus: every job/batch/queue change is published here, and the CLI, Electron IPC
 * and the web bridge all subscribe to it. Payloads are the contract's event payloads.
 */
import { EventEmitter } from 'node:events';
import type { EventName, EventPayload } from '../preload/contract.ts';

export class Bus {
  private readonly ee = new EventEmitter();

  constructor() {
    this.ee.setMaxListeners(100);
  }

  on<E extends EventName>(event: E, cb: (p: EventPayload<E>) => void): () => void {
    const listener = (p: EventPayload<E>) => {
      try {
        cb(p);
      } catch (e) {
        // A faulty subscriber must not break the queue.
        console.error(`demix: event listener for ${event} threw:`, e);
      }
    };
    this.ee.on(event, listener);
    return () => this.ee.off(event, listener);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    this.ee.emit(event, payload);
  }
}
