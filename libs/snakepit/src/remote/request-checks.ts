import { AFFINITY_MODES } from '../options/snakepit-options.interface';
import { REMOTE_PROTOCOL, type CancelMessage, type CreditMessage, type RemoteCallRequest, type RemoteSessionRequest, type SessionOperation } from './remote-wire';

const AFFINITY = new Set<string>(AFFINITY_MODES);
const OPERATIONS = new Set<SessionOperation>(['create', 'get', 'delete', 'locate', 'adopt', 'getState', 'setState', 'deleteState']);
const STATE_OPERATIONS = new Set<SessionOperation>(['getState', 'setState', 'deleteState']);
const MAX_NAME = 256;

const isName = (value: unknown): value is string => typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME;
const isOptionalName = (value: unknown) => value === undefined || isName(value);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** What is wrong with a call request from the broker (every field), or [] when nothing is. */
export function callRequestProblems(request: unknown, maxWindow: number): string[] {
  if (!isRecord(request)) return ['the request is not an object'];
  const r = request as Partial<RemoteCallRequest>;
  const problems: string[] = [];
  if (r.v !== REMOTE_PROTOCOL) problems.push(`v must be ${REMOTE_PROTOCOL} (the remote protocol of this host), got ${JSON.stringify(r.v)}`);
  if (!isName(r.callId)) problems.push('callId must be a non-empty string');
  if (!isName(r.tool)) problems.push('tool must be a non-empty string');
  if (!isOptionalName(r.pool)) problems.push('pool must be a non-empty string when set');
  if (typeof r.args !== 'string') problems.push('args must be the arguments as standalone JSON text');
  if (typeof r.timeoutMs !== 'number' || !(r.timeoutMs > 0) || !Number.isFinite(r.timeoutMs)) problems.push('timeoutMs must be a positive number');
  if (r.idempotent !== undefined && typeof r.idempotent !== 'boolean') problems.push('idempotent must be a boolean');
  if (r.validateArguments !== undefined && typeof r.validateArguments !== 'boolean') problems.push('validateArguments must be a boolean');
  if (!isOptionalName(r.sessionId)) problems.push('sessionId must be a non-empty string when set');
  if (r.affinity !== undefined && !AFFINITY.has(r.affinity as string)) problems.push('affinity must be hint, strictQueue or strictFailFast');
  if (r.window !== undefined && !(Number.isInteger(r.window) && r.window >= 1 && r.window <= maxWindow)) problems.push(`window must be an integer from 1 to ${maxWindow}`);
  for (const key of ['traceparent', 'tracestate'] as const) if (r[key] !== undefined && !(typeof r[key] === 'string' && r[key].length <= 512)) problems.push(`${key} must be a short string`);
  return problems;
}

/** What is wrong with a session request from the broker, or []. */
export function sessionRequestProblems(request: unknown): string[] {
  if (!isRecord(request)) return ['the request is not an object'];
  const r = request as Partial<RemoteSessionRequest>;
  const problems: string[] = [];
  if (r.v !== REMOTE_PROTOCOL) problems.push(`v must be ${REMOTE_PROTOCOL}, got ${JSON.stringify(r.v)}`);
  if (!OPERATIONS.has(r.op as SessionOperation)) problems.push(`op must be one of ${[...OPERATIONS].join(', ')}`);
  if (r.op !== 'create' && !isName(r.sessionId)) problems.push('sessionId must be a non-empty string');
  if (r.op === 'create' && !isOptionalName(r.sessionId)) problems.push('sessionId must be a non-empty string when set');
  if (!isOptionalName(r.pool)) problems.push('pool must be a non-empty string when set');
  if (r.ttlMs !== undefined && !(typeof r.ttlMs === 'number' && r.ttlMs > 0)) problems.push('ttlMs must be a positive number');
  if (r.metadata !== undefined && !isRecord(r.metadata)) problems.push('metadata must be an object');
  if (r.op === 'adopt' && !isName(r.from)) problems.push('from must name the host that was lost');
  if (STATE_OPERATIONS.has(r.op as SessionOperation) && !isName(r.key)) problems.push('key must be a non-empty string');
  if (r.op === 'setState' && typeof r.value !== 'string') problems.push('value must be the value as standalone JSON text');
  return problems;
}

export function isCreditMessage(message: unknown): message is CreditMessage {
  const m = message as CreditMessage;
  return isRecord(m) && isName(m.callId) && Number.isInteger(m.chunks) && m.chunks > 0 && m.chunks <= 1_000_000;
}

export function isCancelMessage(message: unknown): message is CancelMessage {
  const m = message as unknown as CancelMessage;
  return isRecord(message) && isName(m.callId) && (m.stopped === undefined || typeof m.stopped === 'boolean');
}
