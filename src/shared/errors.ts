/** Machine-readable error codes used across ClusterFlux. */
export type CfluxErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'METHOD_NOT_ALLOWED'
  | 'STORE_UNAVAILABLE'
  | 'UPSTREAM_UNAVAILABLE'
  | 'INVALID_SETTING'
  | 'SHUTTING_DOWN'
  | 'INTERNAL';

/** Base error: a message for humans, a code for programs, an optional cause. */
export class CfluxError extends Error {
  override name = 'CfluxError';
  readonly code: CfluxErrorCode;

  constructor(code: CfluxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A setting has a value it does not accept. The CLI prints the message and exits 2. */
export class InvalidSettingError extends CfluxError {
  override name = 'InvalidSettingError';
  readonly setting: string;

  constructor(setting: string, message: string) {
    super('INVALID_SETTING', message);
    this.setting = setting;
  }
}

/** The backing store (etcd) did not answer; callers answer 503. */
export class StoreUnavailableError extends CfluxError {
  override name = 'StoreUnavailableError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

const STATUS_BY_CODE: Record<CfluxErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  INVALID_SETTING: 500,
  INTERNAL: 500,
  UPSTREAM_UNAVAILABLE: 502,
  STORE_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
};

/** The HTTP status that an error of this code is answered with. */
export function httpStatusOf(err: unknown): number {
  return err instanceof CfluxError ? STATUS_BY_CODE[err.code] : 500;
}

/** Message of any thrown value, for logs and error bodies. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
