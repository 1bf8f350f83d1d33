export { TensorDataset, type Dataset, type TensorSource } from './dataset.js';
export { DataLoader, type DataLoaderOptions } from './loader.js';
export { DistributedSampler, type DistributedSamplerOptions, type Sampler } from './sampler.js';
