/** A commit the running services cannot take: nothing was changed, the message says why. */
export class ApplyError extends Error {
  override name = 'ApplyError';
}

/** Why an address and port could not be bound, in the administrator's words. */
export function explainBindError(err: NodeJS.ErrnoException, ip: string, port: number): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return `${ip} port ${port} is already in use by another program`;
    case 'EADDRNOTAVAIL':
      return `address ${ip} is not configured on this machine`;
    case 'EACCES':
      return `permission denied to listen on ${ip} port ${port} (ports below 1024 need privileges)`;
    default:
      return `${ip} port ${port}: ${err.message}`;
  }
}

/** What one kind of service (SMTP listeners, HTTPS, SSH) does for `applyBindings`. */
export interface BoundService<B, R> {
  /** Does the running service `r` already listen where `b` wants it (then it is updated in place)? */
  sameAddress(r: R, b: B): boolean;
  /** Bind and start a service for `b` (rejects with the bind error). */
  start(b: B): Promise<R>;
  /** Stop listening (sessions in progress may go on). */
  stop(r: R): void | Promise<void>;
  /** A kept service takes the new settings (certificate, limits). */
  update(r: R, b: B): void;
  /** The one line that says why `b` could not start. */
  failure(key: string, b: B, err: unknown): string;
  /** Told after a service started or stopped, for the logs. */
  started?(key: string, r: R): void;
  stopped?(key: string, r: R): void;
}

/**
 * Make the running services (`running`, by key) match `wanted`, the same way for every kind:
 * everything new is bound first; if one bind fails, what was started is stopped again and
 * ApplyError is thrown, so a failed commit leaves the old services as they were. Only then are
 * services no longer wanted stopped, kept ones updated in place and new ones put in service
 * (replacing one of the same key on another address). With `bestEffort` (engine start) the services
 * that can run are started and the failures are returned.
 */
export async function applyBindings<B, R>(running: Map<string, R>, wanted: ReadonlyMap<string, B>, service: BoundService<B, R>, options: { bestEffort?: boolean } = {}): Promise<string[]> {
  const started: [string, R][] = [];
  const failures: string[] = [];
  for (const [key, b] of wanted) {
    const current = running.get(key);
    if (current !== undefined && service.sameAddress(current, b)) continue;
    try {
      started.push([key, await service.start(b)]);
    } catch (err) {
      const why = service.failure(key, b, err);
      if (!options.bestEffort) {
        await Promise.all(started.map(([, r]) => service.stop(r)));
        throw new ApplyError(why);
      }
      failures.push(why);
    }
  }
  const fresh = new Set(started.map(([key]) => key));
  for (const [key, r] of [...running]) {
    const b = wanted.get(key);
    if (fresh.has(key)) continue;
    if (b === undefined) {
      running.delete(key);
      await service.stop(r);
      service.stopped?.(key, r);
    } else {
      service.update(r, b);
    }
  }
  for (const [key, r] of started) {
    const old = running.get(key);
    running.set(key, r);
    if (old !== undefined) await service.stop(old);
    service.started?.(key, r);
  }
  return failures;
}
