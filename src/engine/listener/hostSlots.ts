/**
 * Open connections per listener, mail flow policy and client address: a policy's "max concurrent
 * connections from one host" counts every connection the appliance holds, in the engine and in its
 * listener workers alike (the engine keeps the one count; workers ask it).
 */
export interface HostSlots {
  /** Take a slot under `max`; false when the host already has `max`. */
  acquire(key: string, max: number): boolean | Promise<boolean>;
  release(key: string): void;
}

export class HostCounter implements HostSlots {
  private readonly open = new Map<string, number>();

  acquire(key: string, max: number): boolean {
    const n = this.open.get(key) ?? 0;
    if (n >= max) return false;
    this.open.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const left = (this.open.get(key) ?? 1) - 1;
    if (left > 0) this.open.set(key, left);
    else this.open.delete(key);
  }
}
