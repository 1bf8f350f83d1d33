// Index inputs: a traced input whose values are class indices (CrossEntropyLoss's and NLLLoss's
// target) or gather/one_hot/index_select/embedding indices. The trace records, per such input, the
// range its values must lie in; every run checks them on the host before anything launches, so an
// out-of-range index fails with PyTorch's message instead of silently reading the wrong class.
// Plain JSON: bundles carry it too.

export interface IndexBound {
  /** which traced input holds the indices */
  input: number;
  /** the input's elements used as indices (a slice of it); absent: every element */
  elements?: number[];
  /** valid indices are 0 .. size-1 */
  size: number;
  /** a value that marks "no index" and is always allowed (CrossEntropyLoss's ignoreIndex) */
  ignore?: number;
  /** whose rule (and message) applies; `dim` is gather's dimension; embedding is index_select, as in PyTorch */
  kind: 'target' | 'gather' | 'one_hot' | 'index_select';
  dim?: number;
  /** the user's source line that used the indices ("file.ts:12:5") */
  site?: string;
}

export interface IndexViolation {
  bound: IndexBound;
  element: number;
  value: number;
}

/** the first index outside its bound, or undefined when every one is valid */
export function findIndexViolation(
  bounds: readonly IndexBound[],
  inputs: readonly unknown[],
): IndexViolation | undefined {
  for (const bound of bounds) {
    const values = inputs[bound.input] as ArrayLike<number> | undefined;
    if (!values || typeof values.length !== 'number') continue; // a missing input is reported by the input checks
    const { size, ignore, elements } = bound;
    const n = elements ? elements.length : values.length;
    for (let k = 0; k < n; k++) {
      const element = elements ? elements[k] : k;
      const value = values[element];
      if ((value < 0 || value >= size) && value !== ignore) return { bound, element, value };
    }
  }
  return undefined;
}

/** PyTorch's message for an index `value` outside `rule`, after the op's name */
export function outOfBoundsMessage(rule: Pick<IndexBound, 'kind' | 'size' | 'dim'>, value: number): string {
  // nll_loss's, which NLLLoss and CrossEntropyLoss share
  if (rule.kind === 'target') return `Target ${value} is out of bounds.`;
  if (rule.kind === 'gather') {
    return `gather(): index ${value} is out of bounds for dimension ${rule.dim} with size ${rule.size}`;
  }
  if (rule.kind === 'index_select') return 'index out of range in self';
  return `one_hot: Class values must be ${value < 0 ? 'non-negative' : 'smaller than num_classes'}.`;
}

/** PyTorch's message for the violation, then which input and element held it */
export function indexViolationMessage(v: IndexViolation): string {
  const { bound, value, element } = v;
  return (
    `${outOfBoundsMessage(bound, value)} (run: input ${bound.input}, element ${element}; ` +
    `valid indices are 0..${bound.size - 1}` +
    `${bound.ignore !== undefined ? ` or ${bound.ignore}` : ''})`
  );
}
