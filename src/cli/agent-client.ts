import { optionalTextSetting, optionalUrlSetting, urlSetting } from '../shared/config/parsers.ts';
import { readPemFile, readSecret } from '../shared/config/secret-files.ts';
import { loadEnvironment } from '../shared/config/sources.ts';
import { HttpClient, readBodyText, type HttpResponse } from '../shared/http/http-client.ts';
import { trustedCertificates } from '../shared/http/trusted-certificates.ts';
import { loadOrExit } from './command-runner.ts';

/** Settings of the commands that ask an agent's peer port (repair, plans of moves). */
export const agentClientSettings = {
  agent: urlSetting({ name: 'agent', env: 'CFLUX_AGENT_URL', description: "an agent's peer port", defaultValue: 'http://127.0.0.1:8888' }),
  peerTokenFile: peerTokenFileSetting(),
};

/** The same for `cflux members`, whose agent is, unless named, a live one from the manager's node list. */
export const memberAgentSettings = {
  agent: optionalUrlSetting({ name: 'agent', env: 'CFLUX_AGENT_URL', description: "an agent's peer port (https://... when agents use --peer-tls-cert-file)", defaultLabel: "a live agent's peer port from the manager's node list, over http" }),
  peerTokenFile: peerTokenFileSetting(),
};

function peerTokenFileSetting() {
  return optionalTextSetting({ name: 'peer-token-file', env: 'CFLUX_PEER_TOKEN_FILE', description: 'file holding the peer token', maxLength: 4096, defaultLabel: 'CFLUX_PEER_TOKEN' });
}

/** An agent's peer port for a one-off command, with the peer token; a bad token or CA file exits 2 naming the setting. */
export class AgentClient {
  readonly #client: HttpClient;
  readonly #token: string | undefined;

  constructor(command: string, options: { agent: string; peerTokenFile: string | undefined; caFile: string | undefined }) {
    const { token, ca } = loadOrExit(command, () => {
      const env = loadEnvironment();
      return {
        token: readSecret({ file: options.peerTokenFile, fileFlag: 'peer-token-file', variable: 'CFLUX_PEER_TOKEN', setting: 'peer-token', what: 'the peer token' }, env),
        ca: options.caFile === undefined ? undefined : readPemFile(options.caFile, 'ca-file', 'CERTIFICATE'),
      };
    });
    const trusted = trustedCertificates(ca);
    this.#client = new HttpClient(options.agent, { idleTimeoutMs: 600_000, ...(trusted ? { ca: trusted } : {}) });
    this.#token = token;
  }

  /** POSTs to the peer port; the answer's body is the caller's. A 401 or another error status throws with what to do. */
  async post(path: string, signal?: AbortSignal): Promise<HttpResponse> {
    const answer = await this.#client.request({ method: 'POST', path, headers: this.#token ? { authorization: `Bearer ${this.#token}` } : {}, ...(signal ? { signal } : {}) });
    if (answer.statusCode === 200) return answer;
    const text = await readBodyText(answer.body);
    if (answer.statusCode === 401) throw new Error('the agent needs the peer token: set CFLUX_PEER_TOKEN or --peer-token-file');
    throw new Error(`the agent answered ${answer.statusCode}: ${text.slice(0, 300)}`);
  }

  async close(): Promise<void> {
    await this.#client.destroy();
  }
}
