// The checkpoint key scheme (PyTorch's state_dict flattened): one module builds and parses every name.
import { describe, expect, it } from 'vitest';
import {
  camelGroup,
  camelKey,
  checkpointFileOf,
  gradKey,
  isStepKey,
  optimizerMetadata,
  paramGroupsJson,
  parseStateKey,
  snakeKey,
  stateKey,
  unnamedParamKey,
} from '../runtime/checkpoint-keys.js';

describe('checkpoint keys', () => {
  it("spell PyTorch's names", () => {
    expect(stateKey(0, 'expAvgSq')).toBe('state.0.exp_avg_sq');
    expect(stateKey('3', 'step')).toBe('state.3.step');
    expect(gradKey('0.weight')).toBe('0.weight.grad');
    expect(unnamedParamKey(2)).toBe('params.2');
    expect([snakeKey('weightDecay'), camelKey('weight_decay'), camelKey('initial_accumulator_value')]).toEqual([
      'weight_decay',
      'weightDecay',
      'initialAccumulatorValue',
    ]);
  });

  it('parse back what they build, and nothing else', () => {
    expect(parseStateKey('state.1.momentum_buffer')).toEqual({ param: 1, key: 'momentumBuffer' });
    expect(parseStateKey('0.weight')).toBeUndefined();
    expect(parseStateKey('state.x.step')).toBeUndefined();
    expect([isStepKey('state.0.step'), isStepKey('state.0.exp_avg'), isStepKey('step')]).toEqual([true, false, false]);
  });

  it('sort keys into their files', () => {
    expect(
      ['0.weight', 'state.0.exp_avg', '0.weight.grad', 'params.1.grad', 'bn.running_mean'].map(checkpointFileOf),
    ).toEqual(['model', 'optimizer', 'extra', 'extra', 'model']);
  });

  it('param groups as snake_case JSON in the metadata, and back', () => {
    const json = paramGroupsJson([{ lr: 0.1, weightDecay: 0, params: [0, 1] }]);
    expect(json).toBe('[{"lr":0.1,"weight_decay":0,"params":[0,1]}]');
    expect(optimizerMetadata(json)).toEqual({ format: 'pt', param_groups: json });
    expect((JSON.parse(json) as Record<string, unknown>[]).map(camelGroup)).toEqual([
      { lr: 0.1, weightDecay: 0, params: [0, 1] },
    ]);
  });
});
