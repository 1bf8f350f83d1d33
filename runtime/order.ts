// Call order for work on shared state. Runs and state changes that cannot finish within their call
// (an asynchronous device, a value to pull first) wait here behind everything issued before them,
// so eight unawaited runs take eight steps and a state load issued after them lands after them.
export class OrderedQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** nothing is queued or running: work may happen synchronously, host reads are current */
  get idle(): boolean {
    return this.waiting === 0;
  }

  /** runs `job` after everything enqueued before it; a failed job does not stop later ones */
  enqueue<T>(job: () => T | Promise<T>): Promise<T> {
    this.waiting++;
    // the count drops before the caller's `await` resumes, so a read right after it is current
    const done = this.tail.then(async () => {
      try {
        return await job();
      } finally {
        this.waiting--;
      }
    });
    this.tail = done.catch(() => undefined);
    return done;
  }

  /** a synchronous state change: applied now when idle, else after everything queued */
  apply(change: () => void): void {
    if (this.idle) change();
    else void this.enqueue(change);
  }
}
