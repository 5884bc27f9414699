// node bench/tcp-relay.ts <listen-port> <target-url>
// A bare TCP relay (no HTTP parsing, no routing) run as its own process: the
// write benchmark measures it next to the agent as the floor of what any
// user-space hop written in Node costs on this machine.
import { connect, createServer } from 'node:net';

const [listenPort, targetUrl] = process.argv.slice(2);
const target = new URL(targetUrl ?? '');
const server = createServer({ noDelay: true }, (client) => {
  const upstream = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
  client.pipe(upstream).on('error', () => client.destroy());
  upstream.pipe(client).on('error', () => upstream.destroy());
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(Number(listenPort), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
