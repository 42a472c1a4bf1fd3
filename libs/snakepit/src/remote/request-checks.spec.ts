import { REMOTE_PROTOCOL } from './remote-wire';
import { callRequestProblems, isCancelMessage, isCreditMessage, sessionRequestProblems } from './request-checks';

const validCall = () => ({ v: REMOTE_PROTOCOL, callId: 'c-1', tool: 'add', args: '{"a":1}', timeoutMs: 1000 });

describe('request-checks', () => {
  describe('callRequestProblems', () => {
    it('finds nothing wrong with valid requests', () => {
      expect(callRequestProblems(validCall(), 256)).toEqual([]);
      expect(
        callRequestProblems(
          { ...validCall(), pool: 'gpu', idempotent: true, sessionId: 's-1', affinity: 'strictQueue', window: 256, traceparent: '00-abc-def-01', tracestate: 'k=v' },
          256,
        ),
      ).toEqual([]);
      for (const affinity of ['hint', 'strictQueue', 'strictFailFast']) expect(callRequestProblems({ ...validCall(), affinity }, 256)).toEqual([]);
      expect(callRequestProblems({ ...validCall(), window: 1 }, 256)).toEqual([]);
    });

    it('refuses what is not an object', () => {
      for (const request of [null, undefined, 'text', 3, [validCall()]]) expect(callRequestProblems(request, 256)).toEqual(['the request is not an object']);
    });

    it('names every bad field at once', () => {
      const problems = callRequestProblems(
        { v: 2, callId: '', tool: 7, pool: '', args: { a: 1 }, timeoutMs: -1, idempotent: 'yes', sessionId: 'x'.repeat(257), affinity: 'sometimes', window: 257, traceparent: 'x'.repeat(513), tracestate: 5 },
        256,
      );
      expect(problems).toEqual([
        'v must be 1 (the remote protocol of this host), got 2',
        'callId must be a non-empty string',
        'tool must be a non-empty string',
        'pool must be a non-empty string when set',
        'args must be the arguments as standalone JSON text',
        'timeoutMs must be a positive number',
        'idempotent must be a boolean',
        'sessionId must be a non-empty string when set',
        'affinity must be hint, strictQueue or strictFailFast',
        'window must be an integer from 1 to 256',
        'traceparent must be a short string',
        'tracestate must be a short string',
      ]);
    });

    it('names the missing fields of an empty object', () => {
      expect(callRequestProblems({}, 8)).toEqual([
        'v must be 1 (the remote protocol of this host), got undefined',
        'callId must be a non-empty string',
        'tool must be a non-empty string',
        'args must be the arguments as standalone JSON text',
        'timeoutMs must be a positive number',
      ]);
    });

    it('refuses timeouts that are not finite positive numbers', () => {
      for (const timeoutMs of [0, -5, NaN, Infinity, '1000', null]) {
        expect(callRequestProblems({ ...validCall(), timeoutMs }, 8)).toEqual(['timeoutMs must be a positive number']);
      }
    });

    it('refuses windows that are not integers within the host limit', () => {
      for (const window of [0, 9, 1.5, '4', null]) {
        expect(callRequestProblems({ ...validCall(), window }, 8)).toEqual(['window must be an integer from 1 to 8']);
      }
      expect(callRequestProblems({ ...validCall(), window: 8 }, 8)).toEqual([]);
    });

    it('takes names up to 256 characters', () => {
      expect(callRequestProblems({ ...validCall(), callId: 'c'.repeat(256), tool: 't'.repeat(256) }, 8)).toEqual([]);
      expect(callRequestProblems({ ...validCall(), tool: 't'.repeat(257) }, 8)).toEqual(['tool must be a non-empty string']);
    });
  });

  describe('sessionRequestProblems', () => {
    it('finds nothing wrong with valid requests', () => {
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'create' })).toEqual([]);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'create', sessionId: 's', pool: 'p', ttlMs: 1000, metadata: { user: 'u' } })).toEqual([]);
      for (const op of ['get', 'delete', 'locate']) expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op, sessionId: 's' })).toEqual([]);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'adopt', sessionId: 's', from: 'host-a' })).toEqual([]);
    });

    it('refuses what is not an object', () => {
      for (const request of [null, 'text', [], 0]) expect(sessionRequestProblems(request)).toEqual(['the request is not an object']);
    });

    it('names every bad field at once', () => {
      expect(sessionRequestProblems({ v: 0, op: 'adopt', pool: '', ttlMs: 0, metadata: ['x'] })).toEqual([
        'v must be 1, got 0',
        'sessionId must be a non-empty string',
        'pool must be a non-empty string when set',
        'ttlMs must be a positive number',
        'metadata must be an object',
        'from must name the host that was lost',
      ]);
    });

    it('refuses an unknown operation, naming the known ones', () => {
      for (const op of ['drop', undefined, 'constructor', 7]) {
        const problems = sessionRequestProblems({ v: REMOTE_PROTOCOL, op, sessionId: 's' });
        expect(problems).toEqual([expect.stringMatching(/^op must be .*create.*get.*delete.*locate.*adopt/)]);
      }
    });

    it('checks the state operations: a key, and for setState the value as JSON text', () => {
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'getState', sessionId: 's', key: 'k' })).toEqual([]);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'deleteState', sessionId: 's', key: 'k' })).toEqual([]);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'setState', sessionId: 's', key: 'k', value: '{"a":1}' })).toEqual([]);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'setState', sessionId: 's' })).toEqual(['key must be a non-empty string', 'value must be the value as standalone JSON text']);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'getState', key: '' })).toEqual(['sessionId must be a non-empty string', 'key must be a non-empty string']);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'setState', sessionId: 's', key: 'k', value: { a: 1 } })).toEqual(['value must be the value as standalone JSON text']);
    });

    it('needs a session id except to create', () => {
      for (const op of ['get', 'delete', 'locate']) expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op })).toEqual(['sessionId must be a non-empty string']);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'create', sessionId: '' })).toEqual(['sessionId must be a non-empty string when set']);
      expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'create', sessionId: 4 })).toEqual(['sessionId must be a non-empty string when set']);
    });

    it('refuses a ttl that is not a positive number', () => {
      for (const ttlMs of [-1, '10', null]) expect(sessionRequestProblems({ v: REMOTE_PROTOCOL, op: 'create', ttlMs })).toEqual(['ttlMs must be a positive number']);
    });
  });

  describe('credit and cancel messages', () => {
    it('tells credit messages apart', () => {
      expect(isCreditMessage({ callId: 'c', chunks: 16 })).toBe(true);
      expect(isCreditMessage({ callId: 'c', chunks: 1_000_000 })).toBe(true);
      for (const message of [null, {}, { callId: '', chunks: 1 }, { callId: 'c', chunks: 0 }, { callId: 'c', chunks: 1.5 }, { callId: 'c', chunks: 1_000_001 }, { callId: 'c', chunks: '2' }]) {
        expect(isCreditMessage(message)).toBe(false);
      }
    });

    it('tells cancel messages apart', () => {
      expect(isCancelMessage({ callId: 'c' })).toBe(true);
      expect(isCancelMessage({ callId: 'c', stopped: true })).toBe(true); // a stream's reader stopped
      for (const message of [null, 'c', {}, { callId: '' }, { callId: 3 }, { callId: 'c', stopped: 'yes' }]) expect(isCancelMessage(message)).toBe(false);
    });
  });
});
