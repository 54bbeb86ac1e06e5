// The floor of any Node command that makes one API request: start node, trust the same CA
// the same way ankra does, send one GET of the organisations and read the answer. Nothing of
// ankra. `npm run bench` runs it beside the ankra commands that make one request, in two forms:
//   node one-request.cjs https          Node's own https, as ankra sends without a proxy
//   node one-request.cjs UNDICI_BUNDLE  undici (with V8's baseline WebAssembly compiler only,
//                                       as src/net/transport.ts sets it), as ankra sends
//                                       through HTTPS_PROXY
//   ANKRA_BASE_URL=… ANKRA_CA_FILE=… ANKRA_API_TOKEN=… node one-request.cjs …
const { readFileSync } = require('node:fs');
const { createSecureContext } = require('node:tls');

const url = `${process.env.ANKRA_BASE_URL}/api/v1/org/organisation`;
const headers = { authorization: `Bearer ${process.env.ANKRA_API_TOKEN}`, accept: 'application/json' };
const secureContext = createSecureContext();
if (process.env.ANKRA_CA_FILE) secureContext.context.addCACert(readFileSync(process.env.ANKRA_CA_FILE, 'utf8'));
const done = (status) => process.exit(status === 200 ? 0 : 1);

if (process.argv[2] === 'https') {
  require('node:https')
    .get(url, { secureContext, headers }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode));
    })
    .on('error', () => done(0));
} else {
  require('node:v8').setFlagsFromString('--liftoff-only');
  const { Agent, request } = require(process.argv[2]);
  request(url, { dispatcher: new Agent({ connect: { secureContext } }), headers }).then(async (res) => {
    await res.body.text();
    done(res.statusCode);
  }, () => done(0));
}
