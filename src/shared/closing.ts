/** Something that owns sockets or timers: close() drains, destroy() aborts; both are safe to call twice. */
export interface Closable {
  /** Stops taking work and resolves once what is in flight has finished. */
  close(): Promise<void>;
  /** Ends everything now (requests in flight fail). */
  destroy(): Promise<void> | void;
}

/** Drains `resource`, and destroys whatever is still open after `graceMs`. */
export async function closeWithin(resource: Closable, graceMs: number): Promise<void> {
  const timer = setTimeout(() => void resource.destroy(), graceMs);
  try {
    await resource.close();
  } finally {
    clearTimeout(timer);
  }
}
