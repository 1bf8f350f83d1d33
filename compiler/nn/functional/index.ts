// PyTorch's torch.nn.functional (import as `F`: `const F = nn.functional`), names in camelCase.
// One file per family; each function is the one formula its layer uses.
export * from './activation.js';
export * from './loss.js';
export * from './conv.js';
export * from './normalization.js';
export * from './dropout.js';
export * from './attention.js';
export * from './batchnorm.js';
export { embedding, type EmbeddingOptions } from './embedding.js';
export * from './pooling.js';
