// One parameter's optimizer state: a step counter on the host (float64, as PyTorch keeps `step`
// in Python or reads it with .item()) and state tensors in persistent cells, created lazily with
// their initial value the first time a trace touches them (PyTorch's lazy state init).
import { HostCell, TensorCell } from '../state.js';
import { Tensor } from '../tensor.js';
import { currentTrace } from '../trace-context.js';
import type { HostScalar } from '../host-scalar.js';
import type { Parameter } from '../nn/parameter.js';

interface Init {
  value: number | Float32Array;
  defined: boolean;
}

export class ParamState {
  /** steps taken; also tells whether the parameter has state yet (SGD hides it from stateDict) */
  readonly step: HostCell;
  readonly tensors = new Map<string, TensorCell>();
  private readonly inits = new Map<string, Init>();

  constructor(readonly param: Parameter) {
    this.step = new HostCell(`${param.cell.name}.step`, 0);
  }

  /**
   * The state tensor `key`, created on first use filled with `init`. `defined = false` creates it
   * as PyTorch's None (SGD's momentum buffer before its first step).
   */
  tensor(key: string, init: number | Float32Array = 0, defined = true): TensorCell {
    let c = this.tensors.get(key);
    if (!c) {
      c = TensorCell.zeros(`${this.param.cell.name}.${key}`, this.param.cell.shape, 'float32', defined);
      if (typeof init === 'number') c.data.fill(init);
      else c.data.set(init);
      this.tensors.set(key, c);
      this.inits.set(key, { value: init, defined });
    }
    return c;
  }

  /** the traced value of state tensor `key` (created with `init` if new) */
  read(key: string, init = 0): Tensor {
    return Tensor.fromNode(currentTrace()!.read(this.tensor(key, init))!);
  }

  /**
   * The traced value of a state tensor that may be None, or null. The trace records the cell's
   * definedness as a guard, so a compiled function re-traces once when it becomes defined.
   */
  readOptional(key: string): Tensor | null {
    const n = currentTrace()!.read(this.tensor(key, 0, false));
    return n ? Tensor.fromNode(n) : null;
  }

  write(key: string, value: Tensor): void {
    currentTrace()!.assign(this.tensor(key), value.node);
  }

  /** `state['step'] += 1` on the host; returns the new step as a float64 host scalar */
  incrementStep(): HostScalar {
    const t = currentTrace()!;
    t.hostAssign(this.step, t.hostRead(this.step).add(1));
    return t.hostRead(this.step);
  }

  /** back to the state before the first step, in place (compiled programs keep these cells) */
  reset(): void {
    this.step.value = 0;
    for (const [k, c] of this.tensors) {
      const { value, defined } = this.inits.get(k)!;
      c.write(typeof value === 'number' ? new Float32Array(c.data.length).fill(value) : value);
      c.defined = defined;
    }
  }
}
