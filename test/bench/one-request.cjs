// The floor of any Node command that makes one API request: start node, load the same
// undici bundle ankra uses (with V8's baseline WebAssembly compiler only, as
// src/net/transport.ts sets it), trust the same CA the same way, send one GET and read the
// answer. Nothing of ankra. `npm run bench` runs it beside the ankra commands that make one request.
//   ANKRA_BASE_URL=… ANKRA_CA_FILE=… ANKRA_API_TOKEN=… node one-request.cjs UNDICI_BUNDLE
require('node:v8').setFlagsFromString('--liftoff-only');
const { readFileSync } = require('node:fs');
const { createSecureContext } = require('node:tls');
const { Agent, request } = require(process.argv[2]);

const secureContext = createSecureContext();
if (process.env.ANKRA_CA_FILE) secureContext.context.addCACert(readFileSync(process.env.ANKRA_CA_FILE, 'utf8'));
request(`${process.env.ANKRA_BASE_URL}/api/v1/org/organisation`, {
  dispatcher: new Agent({ connect: { secureContext } }),
  headers: { authorization: `Bearer ${process.env.ANKRA_API_TOKEN}`, accept: 'application/json' },
}).then(async (res) => {
  await res.body.text();
  process.exit(res.statusCode === 200 ? 0 : 1);
});
