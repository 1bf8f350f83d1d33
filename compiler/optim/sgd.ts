// SGD, as PyTorch 1.13's _single_tensor_sgd:
//   d_p = grad (negated if maximize); weight_decay: d_p = d_p.add(param, alpha=weight_decay)
//   momentum != 0: buf = clone(d_p) on the first step, else buf.mul_(momentum).add_(d_p, alpha=1 - dampening)
//                  d_p = d_p.add(buf, alpha=momentum) if nesterov else buf
//   param.add_(d_p, alpha=-lr)
// The first step's clone is exact: the momentum buffer is a cell that starts as None, and the
// trace branches on its definedness (a guard). The compiled step re-traces once, when the buffer
// becomes defined, and then runs with no per-element select — cheaper per run than a host flag
// choosing with `where` on every step, and bit-exact (momentum * 0 + d_p would turn inf into NaN).
import { KilnError } from '../errors.js';
import { rsub } from '../host-scalar.js';
import type { Tensor } from '../tensor.js';
import type { Parameter } from '../nn/parameter.js';
import { Optimizer, pyNum, withDefaults, type GroupView, type ParamState, type Params } from './optimizer.js';

export interface SGDOptions {
  /** required, as in PyTorch */
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Params<SGDOptions>, opts: Partial<SGDOptions> = {}) {
    const defaults = {
      lr: undefined as unknown as number,
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
    };
    super(params, withDefaults('SGD', defaults, opts));
  }

  protected validate(o: SGDOptions): void {
    // PyTorch's own comparisons: `lr < 0.0` lets NaN through, unlike Adam's `not 0.0 <= lr`
    if (o.lr !== undefined && o.lr < 0) throw new KilnError(`Invalid learning rate: ${pyNum(o.lr)}`);
    if (o.momentum < 0) throw new KilnError(`Invalid momentum value: ${pyNum(o.momentum)}`);
    if (o.weightDecay < 0) throw new KilnError(`Invalid weight_decay value: ${pyNum(o.weightDecay)}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) {
      throw new KilnError('Nesterov momentum requires a momentum and zero dampening');
    }
  }

  /** PyTorch's SGD state has no step; a parameter has state after its first step */
  override get hasStep(): boolean {
    return false;
  }

  stateKeys(): string[] {
    return ['momentumBuffer'];
  }

  protected update(p: Parameter, g: Tensor, o: GroupView<SGDOptions>, st: ParamState): void {
    st.incrementStep(); // hidden: marks that the parameter has state (momentum_buffer, maybe None)
    let dp = o.flag('maximize') ? g.neg() : g;
    if (o.nonzero('weightDecay')) dp = dp.add(p, o.num('weightDecay'));
    if (o.nonzero('momentum')) {
      const momentum = o.num('momentum');
      const prev = st.readOptional('momentumBuffer');
      const buf = prev ? prev.mul(momentum).add(dp, rsub(1, o.num('dampening'))) : dp.clone();
      st.write('momentumBuffer', buf);
      dp = o.flag('nesterov') ? dp.add(buf, momentum) : buf;
    }
    p.assign(p.add(dp, o.num('lr').neg()));
  }
}
