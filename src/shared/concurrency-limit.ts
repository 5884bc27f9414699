/**
 * At most `limit` tasks at a time; the others wait in arrival order. Used
 * where a burst must not become a burst of calls to a shared service (10,000
 * agents registering at once would each start etcd calls whose deadlines run
 * while they queue behind one another).
 */
export class ConcurrencyLimit {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = limit;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so the count never drops in between.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
