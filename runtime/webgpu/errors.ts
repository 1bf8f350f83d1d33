// WebGPU reports most mistakes asynchronously (validation errors become "uncaptured" events, a
// lost device resolves a promise). This turns them into exceptions at the next load/run, and in
// debug mode wraps load and run in error scopes so the exception names the failing step.

export class ErrorTracker {
  lost: GPUDeviceLostInfo | null = null;
  private uncaptured: string[] = [];

  constructor(
    private readonly device: GPUDevice,
    readonly debug: boolean,
  ) {
    device.lost.then((info) => {
      this.lost = info;
      if (debug && info.reason !== 'destroyed') {
        console.error(`kiln webgpu: device lost (${info.reason}): ${info.message}`);
      }
    });
    device.onuncapturederror = (ev: GPUUncapturedErrorEvent) => {
      this.uncaptured.push(ev.error.message);
      if (debug) console.error(`kiln webgpu: ${ev.error.message}`);
    };
  }

  /** throws if the device is gone or reported an error since the last check */
  check(what: string): void {
    if (this.lost) throw new Error(`webgpu: ${what}: device lost (${this.lost.reason}): ${this.lost.message}`);
    if (this.uncaptured.length) {
      const msgs = this.uncaptured.splice(0);
      throw new Error(`webgpu: ${what}: ${msgs.join('\n')}`);
    }
  }

  /** runs `f` inside validation / out-of-memory / internal error scopes (debug mode only) */
  async scoped<T>(what: string, f: () => Promise<T>): Promise<T> {
    this.check(what);
    if (!this.debug) return f();
    const filters: GPUErrorFilter[] = ['validation', 'out-of-memory', 'internal'];
    for (const fl of filters) this.device.pushErrorScope(fl);
    let result: T | undefined;
    let thrown: unknown;
    try {
      result = await f();
    } catch (e) {
      thrown = e;
    }
    const errors: string[] = [];
    for (const fl of filters.reverse()) {
      const e = await this.device.popErrorScope();
      if (e) errors.push(`${fl} error: ${e.message}`);
    }
    if (errors.length) {
      throw new Error(`webgpu: ${what}:\n${errors.join('\n')}`, thrown ? { cause: thrown } : undefined);
    }
    if (thrown) throw thrown;
    return result as T;
  }
}

/** shader compiler messages for a module, with the offending WGSL line (debug mode) */
export async function compilationErrors(module: GPUShaderModule, wgsl: string): Promise<string | null> {
  const info = await module.getCompilationInfo();
  const lines = wgsl.split('\n');
  const msgs = info.messages
    .filter((m) => m.type === 'error')
    .map((m) => `${m.lineNum}:${m.linePos}: ${m.message}\n    ${lines[m.lineNum - 1] ?? ''}`);
  return msgs.length ? msgs.join('\n') : null;
}
