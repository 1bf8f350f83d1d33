// Adagrad, as PyTorch 1.13's _single_tensor_adagrad: state is created in the constructor
// (step 0, sum filled with the constructor's initial_accumulator_value), and per step
//   clr = lr / (1 + (step - 1) * lr_decay)          (float64, on the host)
//   state_sum.addcmul_(grad, grad, value=1); std = state_sum.sqrt().add_(eps); param.addcdiv_(grad, std, value=-clr)
import { KilnError } from '../errors.js';
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

export interface AdagradOptions {
  lr: number;
  lrDecay: number;
  weightDecay: number;
  initialAccumulatorValue: number;
  eps: number;
  maximize: boolean;
}

export class Adagrad extends Optimizer<AdagradOptions> {
  constructor(params: Params<AdagradOptions>, opts: Partial<AdagradOptions> = {}) {
    const defaults = { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false };
    super(params, withDefaults('Adagrad', defaults, opts));
  }

  protected validate(o: AdagradOptions): void {
    if (!(0 <= o.lr)) throw new KilnError(`Invalid learning rate: ${pyNum(o.lr)}`);
    if (!(0 <= o.lrDecay)) throw new KilnError(`Invalid lr_decay value: ${pyNum(o.lrDecay)}`);
    if (!(0 <= o.weightDecay)) throw new KilnError(`Invalid weight_decay value: ${pyNum(o.weightDecay)}`);
    if (!(0 <= o.initialAccumulatorValue)) {
      throw new KilnError(`Invalid initial_accumulator_value value: ${pyNum(o.initialAccumulatorValue)}`);
    }
    if (!(0 <= o.eps)) throw new KilnError(`Invalid epsilon value: ${pyNum(o.eps)}`);
  }

  /** PyTorch fills `sum` with the constructor's value, not the group's */
  protected override initGroup(g: ParamGroup<AdagradOptions>): void {
    for (const p of g.params) this.stateOf(p).tensor('sum', this.defaults.initialAccumulatorValue);
  }

  /** every parameter has state from the start (step 0) */
  override hasState(): boolean {
    return true;
  }

  stateKeys(): string[] {
    return ['sum'];
  }

  protected update(p: Parameter, g: Tensor, o: GroupView<AdagradOptions>, st: ParamState): void {
    const step = st.incrementStep();
    let grad = o.flag('maximize') ? g.neg() : g;
    if (o.nonzero('weightDecay')) grad = grad.add(p, o.num('weightDecay'));
    const clr = o.num('lr').div(step.sub(1).mul(o.num('lrDecay')).add(1));
    const sum = st.read('sum', this.defaults.initialAccumulatorValue).addcmul(grad, grad, 1);
    st.write('sum', sum);
    const std = sum.sqrt().add(o.num('eps'));
    p.assign(p.addcdiv(grad, std, clr.neg()));
  }
}
