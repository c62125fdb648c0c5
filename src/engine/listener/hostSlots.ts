/**
 * Open connections per listener, mail flow policy and client address: a policy's "max concurrent
 * connections from one host" counts every connection the appliance holds, in the engine and in its
 * listener workers alike (the engine keeps the one count; workers ask it). The same count per
 * listener says when a listener is under load (see UNDER_LOAD).
 */

/** A slot was refused, granted, or granted while the listener is under load (most of its connections taken). */
export type Slot = 'refused' | 'granted' | 'under-load';

/**
 * A listener is under load from this share of its connection limit on. As Postfix does under
 * stress, its new sessions then get a short command time limit, so slow or silent clients from a
 * few addresses cannot hold every slot for a whole command timeout each.
 */
export const UNDER_LOAD = 0.75;

export interface HostSlots {
  /**
   * Take a slot under `max` for the key (`listener|policy|address`); `listenerMax` is the listener's
   * own limit, against which its load is judged.
   */
  acquire(key: string, max: number, listenerMax: number): Slot | Promise<Slot>;
  release(key: string): void;
}

/** The listener part of a host key (its interface address and port). */
const listenerOf = (key: string): string => key.split('|', 2).join('|');

export class HostCounter implements HostSlots {
  private readonly open = new Map<string, number>();
  private readonly perListener = new Map<string, number>();

  acquire(key: string, max: number, listenerMax: number): Slot {
    const n = this.open.get(key) ?? 0;
    if (n >= max) return 'refused';
    this.open.set(key, n + 1);
    const total = (this.perListener.get(listenerOf(key)) ?? 0) + 1;
    this.perListener.set(listenerOf(key), total);
    return total >= UNDER_LOAD * listenerMax ? 'under-load' : 'granted';
  }

  release(key: string): void {
    const left = (this.open.get(key) ?? 1) - 1;
    if (left > 0) this.open.set(key, left);
    else this.open.delete(key);
    const total = (this.perListener.get(listenerOf(key)) ?? 1) - 1;
    if (total > 0) this.perListener.set(listenerOf(key), total);
    else this.perListener.delete(listenerOf(key));
  }
}
