// torch.nn.init (PyTorch 1.13): in-place initialisers for Parameters, eager only. Each draws from
// PyTorch's CPU generator with the same kernel and the same float32 rounding of its bounds as torch,
// so after the same manualSeed the values equal torch's bit for bit (test/nn-init.test.ts).
import { KilnError } from '../errors.js';
import { checkOptions } from '../options.js';
import { normal as normalValues, uniform as uniformValues } from '../random.js';
import { currentTrace } from '../trace-context.js';
import { Parameter } from './parameter.js';
import { truncNormalValues } from './init-trunc.js';
import { orthogonalValues } from './init-orthogonal.js';

export type Nonlinearity =
  | 'linear'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'conv_transpose1d'
  | 'conv_transpose2d'
  | 'conv_transpose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leaky_relu'
  | 'selu';
/** camelCase spellings accepted too ('leakyRelu', 'convTranspose2d') */
const camel: Record<string, string> = {
  leakyRelu: 'leaky_relu',
  convTranspose1d: 'conv_transpose1d',
  convTranspose2d: 'conv_transpose2d',
  convTranspose3d: 'conv_transpose3d',
};

function target(op: string, t: Parameter): Parameter {
  if (!(t instanceof Parameter)) throw new KilnError(`nn.init.${op}: expects an nn.Parameter`);
  if (currentTrace()) throw new KilnError(`nn.init.${op} is not supported inside a compiled function`);
  return t;
}

/** torch.nn.init.calculate_gain */
export function calculateGain(nonlinearity: Nonlinearity | string, param?: number): number {
  const nl = camel[nonlinearity] ?? nonlinearity;
  const ones = ['linear', 'conv1d', 'conv2d', 'conv3d', 'conv_transpose1d', 'conv_transpose2d', 'conv_transpose3d'];
  if (ones.includes(nl) || nl === 'sigmoid') return 1;
  if (nl === 'tanh') return 5.0 / 3;
  if (nl === 'relu') return Math.sqrt(2.0);
  if (nl === 'leaky_relu') {
    if (param !== undefined && (typeof param !== 'number' || !Number.isFinite(param))) {
      throw new KilnError(`negative_slope ${param} not a valid number`);
    }
    const slope = param ?? 0.01;
    return Math.sqrt(2.0 / (1 + slope ** 2));
  }
  if (nl === 'selu') return 3.0 / 4;
  throw new KilnError(`Unsupported nonlinearity ${nonlinearity}`);
}

/** fan_in, fan_out as _calculate_fan_in_and_fan_out */
function fans(t: Parameter): [number, number] {
  if (t.shape.length < 2) {
    throw new KilnError('Fan in and fan out can not be computed for tensor with fewer than 2 dimensions');
  }
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

export function uniform_(t: Parameter, a = 0, b = 1): Parameter {
  target('uniform_', t).data = uniformValues(t.numel(), a, b);
  return t;
}
export function normal_(t: Parameter, mean = 0, std = 1): Parameter {
  target('normal_', t).data = normalValues(t.numel(), mean, std);
  return t;
}
export function constant_(t: Parameter, val: number): Parameter {
  target('constant_', t).data = new Float32Array(t.numel()).fill(val);
  return t;
}
export const zeros_ = (t: Parameter) => constant_(t, 0);
export const ones_ = (t: Parameter) => constant_(t, 1);
export function eye_(t: Parameter): Parameter {
  target('eye_', t);
  if (t.shape.length !== 2) throw new KilnError('Only tensors with 2 dimensions are supported');
  const [r, c] = t.shape;
  const v = new Float32Array(r * c);
  for (let i = 0; i < Math.min(r, c); i++) v[i * c + i] = 1;
  t.data = v;
  return t;
}

export function xavierUniform_(t: Parameter, gain = 1): Parameter {
  const [fanIn, fanOut] = fans(target('xavierUniform_', t));
  const a = Math.sqrt(3.0) * (gain * Math.sqrt(2.0 / (fanIn + fanOut)));
  return uniform_(t, -a, a);
}
export function xavierNormal_(t: Parameter, gain = 1): Parameter {
  const [fanIn, fanOut] = fans(target('xavierNormal_', t));
  return normal_(t, 0, gain * Math.sqrt(2.0 / (fanIn + fanOut)));
}

export interface KaimingOptions {
  /** the negative slope of the rectifier after this layer (leaky_relu only) */
  a?: number;
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity | string;
}
function kaimingStd(op: string, t: Parameter, opts: KaimingOptions): number | null {
  checkOptions(op, opts, ['a', 'mode', 'nonlinearity']);
  target(op, t);
  const mode = opts.mode ?? 'fanIn';
  if (mode !== 'fanIn' && mode !== 'fanOut') {
    throw new KilnError(`Mode ${mode} not supported, please use one of fanIn, fanOut`);
  }
  const gain = calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0);
  // PyTorch warns "Initializing zero-element tensors is a no-op" and leaves them alone
  if (t.numel() === 0) return null;
  const [fanIn, fanOut] = fans(t);
  return gain / Math.sqrt(mode === 'fanIn' ? fanIn : fanOut);
}
export function kaimingUniform_(t: Parameter, opts: KaimingOptions = {}): Parameter {
  const std = kaimingStd('kaimingUniform_', t, opts);
  if (std === null) return t;
  const bound = Math.sqrt(3.0) * std;
  return uniform_(t, -bound, bound);
}
export function kaimingNormal_(t: Parameter, opts: KaimingOptions = {}): Parameter {
  const std = kaimingStd('kaimingNormal_', t, opts);
  return std === null ? t : normal_(t, 0, std);
}

export interface TruncNormalOptions {
  mean?: number;
  std?: number;
  a?: number;
  b?: number;
}
/**
 * torch.nn.init.trunc_normal_ (defaults mean 0, std 1, a -2, b 2): the same uniform draws as torch;
 * its erfinv_ agrees with torch's within a few float32 ulp, not bit for bit (see init-trunc.ts)
 */
export function truncNormal_(t: Parameter, opts: TruncNormalOptions = {}): Parameter {
  checkOptions('truncNormal_', opts, ['mean', 'std', 'a', 'b']);
  const { mean = 0, std = 1, a = -2, b = 2 } = opts;
  target('truncNormal_', t).data = truncNormalValues(t.numel(), mean, std, a, b);
  return t;
}

/**
 * torch.nn.init.orthogonal_: a (semi-)orthogonal matrix from the QR of a normal draw (torch's draws, bit for bit;
 * the QR's rounding is not LAPACK's, so values agree within ~1e-6, see init-orthogonal.ts), times `gain`
 */
export function orthogonal_(t: Parameter, gain = 1): Parameter {
  target('orthogonal_', t);
  if (t.shape.length < 2) throw new KilnError('Only tensors with 2 or more dimensions are supported');
  if (t.numel() === 0) return t; // torch: "can't initialize an empty tensor", a no-op
  t.data = orthogonalValues(t.shape, gain);
  return t;
}
