// The WebGPU ceiling for kiln's Adam (issue 13 §3): a hand-written fused Adam kernel, one invocation per
// parameter reading p, g, m, v and writing p, m, v once (PyTorch's update: denom = sqrt(v) / sqrt(bc2) + eps,
// p -= lr / bc1 * m / denom), on the same GPUDevice kiln runs on. bench/webgpu.ts times it beside kiln.

const SHADER = `
struct Hyper { lr: f32, beta1: f32, beta2: f32, eps: f32, bc1: f32, sqrtBc2: f32, n: u32, cols: u32 }
@group(0) @binding(0) var<storage, read_write> p: array<f32>;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> h: Hyper;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.y * h.cols + id.x;
  if (i >= h.n) { return; }
  let gi = g[i];
  let mi = h.beta1 * m[i] + (1.0 - h.beta1) * gi;
  let vi = h.beta2 * v[i] + (1.0 - h.beta2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] - (h.lr / h.bc1) * mi / (sqrt(vi) / h.sqrtBc2 + h.eps);
}`;

/** one hand-written Adam over n parameters: `step()` runs an update and waits for the GPU */
export function handAdam(device: GPUDevice, n: number, init: (i: number) => Float32Array) {
  const usage = 0x0080 | 0x0008 | 0x0004; // STORAGE | COPY_DST | COPY_SRC
  const bufs = [0, 1, 2, 3].map((i) => {
    const b = device.createBuffer({ size: 4 * n, usage });
    device.queue.writeBuffer(b, 0, (i < 2 ? init(i) : new Float32Array(n)) as Float32Array<ArrayBuffer>);
    return b;
  });
  const hyper = device.createBuffer({ size: 32, usage: 0x0040 | 0x0008 }); // UNIFORM | COPY_DST
  const module = device.createShaderModule({ code: SHADER });
  const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      ...bufs.map((buffer, binding) => ({ binding, resource: { buffer } })),
      { binding: 4, resource: { buffer: hyper } },
    ],
  });
  const workgroups = Math.ceil(n / 256);
  const [x, y] = workgroups > 65535 ? [65535, Math.ceil(workgroups / 65535)] : [workgroups, 1];
  let t = 0;
  return {
    async step(): Promise<void> {
      t++;
      const [lr, b1, b2, eps] = [1e-3, 0.9, 0.999, 1e-8];
      const h = new ArrayBuffer(32);
      new Float32Array(h, 0, 6).set([lr, b1, b2, eps, 1 - b1 ** t, Math.sqrt(1 - b2 ** t)]);
      new Uint32Array(h, 24, 2).set([n, x * 256]);
      device.queue.writeBuffer(hyper, 0, h);
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    },
    destroy(): void {
      for (const b of [...bufs, hyper]) b.destroy();
    },
  };
}
