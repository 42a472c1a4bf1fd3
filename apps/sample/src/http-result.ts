/** A tool's result as the sample app answers it: bytes become base64. */
export function toHttpResult(result: unknown): { result: unknown; encoding?: 'base64' } {
  return Buffer.isBuffer(result) ? { result: result.toString('base64'), encoding: 'base64' } : { result };
}
