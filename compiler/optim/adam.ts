// Adam and AdamW, in PyTorch's order of operations (torch 1.13, single-tensor path):
// bias corrections and the step size are float64 host scalars; the denominator is
// sqrt(v) / sqrt(bias_correction2) + eps.
import { KilnError } from '../errors.js';
import { rsub, HostScalar } from '../host-scalar.js';
import type { Tensor } from '../tensor.js';
import type { Parameter } from '../nn/parameter.js';
import { Optimizer, type ParamGroup, type ParamGroupInput, type ParamState } from './optimizer.js';

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
  if (!(o.lr >= 0)) throw new KilnError(`Invalid learning rate: ${o.lr}`);
  if (!(o.eps >= 0)) throw new KilnError(`Invalid epsilon value: ${o.eps}`);
  if (!(o.betas[0] >= 0 && o.betas[0] < 1)) throw new KilnError(`Invalid beta parameter at index 0: ${o.betas[0]}`);
  if (!(o.betas[1] >= 0 && o.betas[1] < 1)) throw new KilnError(`Invalid beta parameter at index 1: ${o.betas[1]}`);
  if (!(o.weightDecay >= 0)) throw new KilnError(`Invalid weight_decay value: ${o.weightDecay}`);
}

export class Adam extends Optimizer<AdamOptions> {
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<AdamOptions>>, opts: Partial<AdamOptions> = {}) {
    super(params, {
      lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false, decoupledWeightDecay: false,
      ...opts,
    });
  }

  protected validate(o: AdamOptions): void { validateAdam(o); }

  protected stateKeys(g: ParamGroup<AdamOptions>): string[] {
    return g.amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'];
  }

  protected update(p: Parameter, g: Tensor, o: ParamGroup<AdamOptions>, st: ParamState): void {
    const [beta1, beta2] = o.betas;
    let grad = o.maximize ? g.neg() : g;
    const step = st.incrementStep();
    let param: Tensor = p;
    if (o.weightDecay !== 0) {
      if (o.decoupledWeightDecay) param = param.mul(1 - o.lr * o.weightDecay);
      else grad = grad.add(param, o.weightDecay);
    }
    const m = st.read('expAvg').mul(beta1).add(grad, 1 - beta1);
    const v = st.read('expAvgSq').mul(beta2).addcmul(grad, grad, 1 - beta2);
    st.write('expAvg', m);
    st.write('expAvgSq', v);
    const bc1 = rsub(1, HostScalar.of(beta1).pow(step));
    const bc2 = rsub(1, HostScalar.of(beta2).pow(step));
    const stepSize = HostScalar.of(o.lr).div(bc1);
    const bc2Sqrt = bc2.sqrt();
    let vHat = v;
    if (o.amsgrad) {
      vHat = st.read('maxExpAvgSq').maximum(v);
      st.write('maxExpAvgSq', vHat);
    }
    const denom = vHat.sqrt().div(bc2Sqrt).add(o.eps);
    p.assign(param.addcdiv(m, denom, stepSize.neg()));
  }
}

/** AdamW: Adam with decoupled weight decay (default 1e-2), as torch.optim.AdamW */
export class AdamW extends Adam {
  constructor(params: Iterable<Parameter> | Iterable<ParamGroupInput<AdamOptions>>, opts: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...opts, decoupledWeightDecay: true });
  }
}
