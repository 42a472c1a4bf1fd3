import type { ServerResponse } from 'node:http';

/** The response objects of Express (a ServerResponse) and of Fastify (a reply around one, in `raw`). */
export type HttpResponseLike = ServerResponse | { raw: ServerResponse };

/** The Node response under Express's or Fastify's. */
export function rawResponse(response: HttpResponseLike): ServerResponse {
  return 'raw' in response && response.raw ? response.raw : (response as ServerResponse);
}
