// tfjs-core's Node build registers no gradients and its ESM build does not load in Node (extensionless
// imports): its gradient registrations are bundled with esbuild and imported. The registries live on tfjs's
// global namespace, so the bundled copy fills the same registry that minimize() and grads() read.
export async function registerTfjsGradients(): Promise<void> {
  const { build } = await import('esbuild');
  const out = await build({
    stdin: { contents: "import '@tensorflow/tfjs-core/dist/register_all_gradients.js';", resolveDir: process.cwd() },
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    logLevel: 'error',
  });
  await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0].text).toString('base64')}`);
}
