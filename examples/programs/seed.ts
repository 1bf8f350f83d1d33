// The seed model as a kiln program: `kiln build` and `kiln inspect` read the defineProgram(...)
// export. The model and optimizer give the bundle its state (and its checkpoints their keys);
// each function is traced with the input specs beside it.
import { defineProgram, manualSeed, nn, optim, type Tensor } from 'kiln';

manualSeed(0);
const model = new nn.Sequential(new nn.Linear(10, 5), new nn.ReLU(), new nn.Linear(5, 2));
const criterion = new nn.CrossEntropyLoss();
const optimizer = new optim.Adam(model.parameters(), { lr: 1e-3 });

export default defineProgram({
  name: 'kiln-seed',
  description: 'The seed classifier: Linear(10, 5), ReLU, Linear(5, 2), trained with Adam',
  model,
  optimizer,
  functions: {
    trainStep: {
      doc: 'One training step (forward, cross-entropy loss, backward, Adam update); returns the loss.',
      inputs: [
        { name: 'x', shape: [1, 10], dtype: 'float32' },
        { name: 'y', shape: [1], dtype: 'int32' },
      ],
      fn: (x: Tensor, y: Tensor) => {
        const loss = criterion.forward(model.forward(x), y);
        optimizer.zeroGrad();
        loss.backward();
        optimizer.step();
        return loss;
      },
    },
    predict: {
      doc: 'The logits for one example.',
      inputs: [{ name: 'x', shape: [1, 10], dtype: 'float32' }],
      fn: (x: Tensor) => model.forward(x),
    },
  },
});
