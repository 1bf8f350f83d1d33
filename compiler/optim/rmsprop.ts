// RMSprop, as PyTorch 1.13's _single_tensor_rmsprop:
//   square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
//   centered: grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha);
//             avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
//   else avg = square_avg.sqrt();  avg.add_(eps)
//   momentum > 0: buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
//   else param.addcdiv_(grad, avg, value=-lr)
// State (step, square_avg, momentum_buffer, grad_avg) starts at zeros on a parameter's first step.
import { KilnError } from '../errors.js';
import { rsub } from '../host-scalar.js';
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

export interface RMSpropOptions {
  lr: number;
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: Params<RMSpropOptions>, opts: Partial<RMSpropOptions> = {}) {
    const defaults = {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
    };
    super(params, withDefaults('RMSprop', defaults, opts));
  }

  protected validate(o: RMSpropOptions): void {
    if (!(0 <= o.lr)) throw new KilnError(`Invalid learning rate: ${pyNum(o.lr)}`);
    if (!(0 <= o.eps)) throw new KilnError(`Invalid epsilon value: ${pyNum(o.eps)}`);
    if (!(0 <= o.momentum)) throw new KilnError(`Invalid momentum value: ${pyNum(o.momentum)}`);
    if (!(0 <= o.weightDecay)) throw new KilnError(`Invalid weight_decay value: ${pyNum(o.weightDecay)}`);
    if (!(0 <= o.alpha)) throw new KilnError(`Invalid alpha value: ${pyNum(o.alpha)}`);
  }

  stateKeys(g: ParamGroup<RMSpropOptions>): string[] {
    return ['squareAvg', ...(g.momentum > 0 ? ['momentumBuffer'] : []), ...(g.centered ? ['gradAvg'] : [])];
  }

  protected update(p: Parameter, g: Tensor, o: GroupView<RMSpropOptions>, st: ParamState): void {
    st.incrementStep();
    const lr = o.num('lr'),
      alpha = o.num('alpha');
    let grad = o.flag('maximize') ? g.neg() : g;
    if (o.nonzero('weightDecay')) grad = grad.add(p, o.num('weightDecay'));
    const squareAvg = st.read('squareAvg').mul(alpha).addcmul(grad, grad, rsub(1, alpha));
    st.write('squareAvg', squareAvg);
    let avg: Tensor;
    if (o.flag('centered')) {
      const gradAvg = st.read('gradAvg').mul(alpha).add(grad, rsub(1, alpha));
      st.write('gradAvg', gradAvg);
      avg = squareAvg.addcmul(gradAvg, gradAvg, -1).sqrt();
    } else {
      avg = squareAvg.sqrt();
    }
    avg = avg.add(o.num('eps'));
    if (o.positive('momentum')) {
      const buf = st.read('momentumBuffer').mul(o.num('momentum')).addcdiv(grad, avg);
      st.write('momentumBuffer', buf);
      p.assign(p.add(buf, lr.neg()));
    } else {
      p.assign(p.addcdiv(grad, avg, lr.neg()));
    }
  }
}
