// torch.optim.lr_scheduler as `optim.lrScheduler` (PyTorch 1.13's schedulers; see lr-scheduler-base.ts)
export { LRScheduler, _LRScheduler, type SchedulerStateDict } from './lr-scheduler-base.js';
export {
  LambdaLR,
  MultiplicativeLR,
  StepLR,
  MultiStepLR,
  ConstantLR,
  LinearLR,
  ExponentialLR,
  PolynomialLR,
  CosineAnnealingLR,
  type LrLambda,
} from './lr-scheduler-basic.js';
export { OneCycleLR, SequentialLR, ChainedScheduler, type OneCycleLROptions } from './lr-scheduler-cycle.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './lr-scheduler-plateau.js';
