/**
 * The tagged objects of the value model (proto/snakepit_bridge.proto, message Value), shared by
 * the encoder and the decoder. A tagged object's first key is TAG; Python reads the same tags
 * (priv/python/snakepit_bridge/_values.py). Binary data is `buffer` (an index into
 * Value.buffers) or, where a value must stand alone as JSON text (session state), `base64`.
 */
export const TAG = '$snakepit';

export const enum Tag {
  /** Bytes: a Buffer on the host, `bytes` in Python. */
  Bytes = 'bytes',
  /** An n-dimensional array: { dtype, shape } and its data; an NdArray / a numpy array. */
  NdArray = 'ndarray',
  /** An instant: { iso }; a Date / an aware datetime. */
  Datetime = 'datetime',
  /** An integer beyond 2^53: { value } in decimal; a bigint / an int. */
  BigInt = 'bigint',
  /** A value the pool shares (pool.share): { name }, resolved by the worker. */
  Shared = 'shared',
  /** An object that has a "$snakepit" key of its own: { entries: [[key, value], …] }. */
  Object = 'object',
}
