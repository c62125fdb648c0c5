/**
 * A Map that holds at most `limit` entries: setting a new key when full drops the oldest entry first.
 * For memos whose entries are cheap to recompute (verified signatures, certificate associations,
 * recent lookups), so memory stays bounded whatever the peers send.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (!this.has(key) && this.size >= this.limit) this.delete(this.keys().next().value as K);
    return super.set(key, value);
  }
}
