// Checks a bundle manifest's structure before anything it names is read or run: every file a plain
// path inside the bundle with a SHA-256, the native entry kiln's own, every buffer size a count of
// elements. (The sizes are then compared with what the code itself declares, by the device at
// load: runtime/native/device.ts, runtime/webgpu/executable.ts.)
import type { Manifest } from '../manifest.js';
import { NATIVE_ENTRY } from '../native/entry.js';
import { checkBundlePath } from './assets.js';
import type { BundleManifest, FileRef } from './format.js';

const fail = (m: BundleManifest, why: string): never => {
  throw new Error(`kiln bundle ${String(m.name)}: kiln-bundle.json ${why}: refusing to load it (was it edited?)`);
};

function checkRef(m: BundleManifest, ref: FileRef | undefined, what: string): void {
  if (!ref || typeof ref !== 'object') fail(m, `has no file for ${what}`);
  checkBundlePath(ref!.file, what);
  if (typeof ref!.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(ref!.sha256)) {
    fail(m, `has no SHA-256 for ${ref!.file}`);
  }
}

function checkRuntimeManifest(m: BundleManifest, man: Manifest, what: string): void {
  if (!man || !Array.isArray(man.buffers)) fail(m, `has no buffer list for ${what}`);
  man.buffers.forEach((b, i) => {
    if (!Number.isSafeInteger(b?.size) || b.size < 0) {
      fail(m, `gives ${what} buffer ${i} the size ${JSON.stringify(b?.size)}`);
    }
    if (b.dtype !== 'f32' && b.dtype !== 'i32') {
      fail(m, `gives ${what} buffer ${i} the dtype ${JSON.stringify(b.dtype)}`);
    }
  });
}

export function checkManifest(m: BundleManifest): void {
  if (!Array.isArray(m.functions) || !Array.isArray(m.targets)) fail(m, 'lists no functions or targets');
  for (const [k, ref] of Object.entries(m.state ?? {})) checkRef(m, ref, `state ${k}`);
  for (const f of m.functions) {
    for (const [target, t] of Object.entries(f.targets ?? {})) {
      const what = `${f.name} (${target})`;
      checkRef(m, t?.code, what);
      checkRuntimeManifest(m, t!.manifest, what);
      if (target === 'native' && t!.entry !== NATIVE_ENTRY) {
        fail(
          m,
          `names ${JSON.stringify(t!.entry)} as ${f.name}'s native entry point; ` +
            `kiln's libraries have one, '${NATIVE_ENTRY}'`,
        );
      }
    }
  }
}
