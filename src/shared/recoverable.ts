import { CfluxError, StoreUnavailableError, type CfluxErrorCode } from './errors.ts';

/**
 * Whether an HTTP status says the server could not serve the request now
 * (it failed, its backend is down, a gateway timed out), rather than judging
 * the request: the same call may work later or on another server. 501 and
 * 505 are verdicts on the request, like 4xx.
 */
export function isRecoverableStatus(status: number): boolean {
  return status >= 500 && status !== 501 && status !== 505;
}

/** Codes of our own errors that mean "not now" rather than "never". */
const RECOVERABLE_CODES = new Set<CfluxErrorCode>(['UPSTREAM_UNAVAILABLE', 'STORE_UNAVAILABLE', 'SHUTTING_DOWN']);

/**
 * Network failures of Node's sockets and undici (the call got no answer).
 * Errors from got are translated at their boundary (manager-client.ts).
 */
const RECOVERABLE_SYSTEM_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EAI_AGAIN',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

/** A server answered with a status saying it cannot serve now (see {@link isRecoverableStatus}). */
export class UnavailableAnswerError extends CfluxError {
  override name = 'UnavailableAnswerError';
  readonly status: number;

  constructor(status: number, message: string) {
    super('UPSTREAM_UNAVAILABLE', message);
    this.status = status;
  }
}

/**
 * The one decision whether a failed call is worth making again (later, or
 * on another server): the other side was unreachable, timed out, or said
 * it cannot serve now. A verdict on the request (bad input, refused
 * credentials, not found) and a caller's own abort are not.
 */
export function isRecoverable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (err instanceof CfluxError) return RECOVERABLE_CODES.has(err.code);
  if (!(err instanceof Error)) return false;
  if (err.name === 'AbortError') return false;
  // AbortSignal.timeout(): a deadline of ours passed while the other side said nothing.
  if (err.name === 'TimeoutError') return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && RECOVERABLE_SYSTEM_CODES.has(code)) return true;
  return err.cause !== undefined && err.cause !== err && isRecoverable(err.cause);
}
