// `node --import ./test/tools/trace-loads.mjs …` appends every module the process loads
// (ESM resolutions and CommonJS requires) to the file named by ANKRA_TRACE_FILE, one URL or
// path per line. Used by the hot-path test to prove what a cache hit does not load.
import { register } from 'node:module';
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const file = process.env.ANKRA_TRACE_FILE;
if (file) {
  register(new URL('./trace-hooks.mjs', import.meta.url), { data: { file } });
  const Module = createRequire(import.meta.url)('node:module');
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    appendFileSync(file, `require ${request} from ${parent?.filename ?? '?'}\n`);
    return load.call(this, request, parent, isMain);
  };
}
