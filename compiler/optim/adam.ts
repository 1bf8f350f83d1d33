// Adam and AdamW, in PyTorch 1.13's order of operations (_single_tensor_adam / _single_tensor_adamw):
//   exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
//   denom = (v.sqrt() / sqrt(bias_correction2)).add_(eps); param.addcdiv_(exp_avg, denom, value=-lr / bias_correction1)
// Bias corrections and the step size are float64 host scalars over the step counter and the
// live lr/betas. add_(grad, alpha) and addcmul_ are fused multiply-adds in PyTorch's CPU kernels
// and in kiln (Tensor.add/addcmul emit fma): the goldens are reproduced bit for bit.
import { KilnError } from '../errors.js';
import { rsub } from '../host-scalar.js';
import { checkOptions } from '../options.js';
import type { Tensor } from '../tensor.js';
import type { Parameter } from '../nn/parameter.js';
import {
  Optimizer,
  pyNum,
  withDefaults,
  type GroupView,
  type ParamGroup,
  type ParamState,
  type Params,
} from './optimizer.js';

export interface AdamOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
  /** AdamW's decoupled decay: p *= 1 - lr * weightDecay before the update */
  decoupledWeightDecay: boolean;
}

export function validateAdam(o: AdamOptions): void {
  if (!(0 <= o.lr)) throw new KilnError(`Invalid learning rate: ${pyNum(o.lr)}`);
  if (!(0 <= o.eps)) throw new KilnError(`Invalid epsilon value: ${pyNum(o.eps)}`);
  if (!(0 <= o.betas[0] && o.betas[0] < 1)) {
    throw new KilnError(`Invalid beta parameter at index 0: ${pyNum(o.betas[0])}`);
  }
  if (!(0 <= o.betas[1] && o.betas[1] < 1)) {
    throw new KilnError(`Invalid beta parameter at index 1: ${pyNum(o.betas[1])}`);
  }
  if (!(0 <= o.weightDecay)) throw new KilnError(`Invalid weight_decay value: ${pyNum(o.weightDecay)}`);
}

const adamDefaults = (): AdamOptions => ({
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weightDecay: 0,
  amsgrad: false,
  maximize: false,
  decoupledWeightDecay: false,
});

export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    super(params, withDefaults(new.target.name, adamDefaults(), opts));
  }

  protected validate(o: AdamOptions): void {
    validateAdam(o);
  }

  stateKeys(g: ParamGroup<AdamOptions>): string[] {
    return g.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'];
  }

  protected update(p: Parameter, g: Tensor, o: GroupView<AdamOptions>, st: ParamState): void {
    const lr = o.num('lr'),
      beta1 = o.num('betas', 0),
      beta2 = o.num('betas', 1);
    let grad = o.flag('maximize') ? g.neg() : g;
    const step = st.incrementStep();
    let param: Tensor = p;
    if (o.flag('decoupledWeightDecay')) {
      // AdamW decays unconditionally (a multiply by 1 when weight_decay is 0)
      param = param.mul(rsub(1, lr.mul(o.num('weightDecay'))));
    } else if (o.nonzero('weightDecay')) {
      grad = grad.add(param, o.num('weightDecay'));
    }
    const m = st.read('expAvg').mul(beta1).add(grad, rsub(1, beta1));
    const v = st.read('expAvgSq').mul(beta2).addcmul(grad, grad, rsub(1, beta2));
    st.write('expAvg', m);
    st.write('expAvgSq', v);
    const bc1 = rsub(1, beta1.pow(step));
    const bc2 = rsub(1, beta2.pow(step));
    const stepSize = lr.div(bc1);
    let vHat = v;
    if (o.flag('amsgrad')) {
      vHat = st.read('maxExpAvgSq').maximum(v);
      st.write('maxExpAvgSq', vHat);
    }
    const denom = vHat.sqrt().div(bc2.sqrt()).add(o.num('eps'));
    p.assign(param.addcdiv(m, denom, stepSize.neg()));
  }
}

/** AdamW: Adam with decoupled weight decay (default 1e-2), as torch.optim.AdamW */
export class AdamW extends Adam {
  constructor(params: Params<AdamOptions>, opts: Partial<AdamOptions> = {}) {
    // torch.optim.AdamW has no such keyword: it is what AdamW is
    checkOptions(
      'AdamW',
      opts,
      Object.keys(adamDefaults()).filter((k) => k !== 'decoupledWeightDecay'),
    );
    super(params, { weightDecay: 1e-2, ...opts, decoupledWeightDecay: true });
  }
}
