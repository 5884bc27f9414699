/**
 * Node's http, https, tls and util modules, loaded the CommonJS way
 * (`process.getBuiltinModule`) instead of by an ESM `import`.
 *
 * Why: for an ESM import of a built-in, Node builds the module's namespace
 * and so reads every export; node:http's lazy ones (WebSocket, CloseEvent,
 * MessageEvent) then load the bundled undici and http2, node:util's load
 * worker_threads. node:http alone was 6 MiB of an idle agent's RSS (82 -> 76
 * MiB, bench/agent-memory.ts; 13 MiB in a bare process), node:util 1.2 MiB
 * in a bare process.
 * https and tls (with OpenSSL's contexts, ~5 MiB) are loaded on first use,
 * so an agent that speaks no TLS never pays for them.
 * test/unit/layering.test.ts keeps value imports of these modules out of src/.
 */
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Tls from 'node:tls';
import type * as Util from 'node:util';

/** node:http, loaded at once: every agent and manager serves and calls HTTP. */
export const nodeHttp: typeof Http = process.getBuiltinModule('node:http');

/** node:https, loaded on the first TLS server or client. */
export function nodeHttps(): typeof Https {
  return process.getBuiltinModule('node:https');
}

/** node:tls, loaded on the first TLS connection or CA list. */
export function nodeTls(): typeof Tls {
  return process.getBuiltinModule('node:tls');
}

/** node:util (parseArgs, promisify). */
export const nodeUtil: typeof Util = process.getBuiltinModule('node:util');
