import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { bridgePaths } from '../python/bridge-paths';

/** Protocol version this host speaks; a worker reporting another one is refused. */
export const PROTOCOL_VERSION = 3;

/** Messages of proto/snakepit_bridge.proto as @grpc/proto-loader presents them. */
export interface WireSegment {
  name: string;
  offset: number;
  length: number;
}

/** A Value's binary data: in the message, or in a shared-memory segment. */
export interface WireBuffer {
  where?: 'inline' | 'segment';
  inline?: Uint8Array;
  segment?: WireSegment;
}

/** JSON text, its tags' buffers, and how many tags it holds (0: plain JSON). */
export interface WireValue {
  json: Uint8Array;
  buffers: WireBuffer[];
  tags: number;
}

/** What a value weighs: its JSON and its buffers, wherever they travel. */
export function wireValueBytes(value: WireValue | undefined): number {
  let size = value?.json.byteLength ?? 0;
  for (const buffer of value?.buffers ?? []) size += buffer.inline?.byteLength ?? Number(buffer.segment?.length ?? 0);
  return size;
}

export interface WireErrorInfo {
  type: string;
  message: string;
  traceback: string;
  detailsJson: Buffer;
}

export interface WireExecuteRequest {
  tool: string;
  args: WireValue;
  requestId: string;
  sessionId: string;
  traceparent?: string;
  tracestate?: string;
}

export interface WireExecuteReply {
  outcome?: 'result' | 'error';
  result?: WireValue;
  error?: WireErrorInfo;
}

export interface WireStreamChunk {
  payload?: 'data' | 'error';
  data?: WireValue;
  error?: WireErrorInfo;
  final: boolean;
  cancelled: boolean;
}

export interface WireToolInfo {
  name: string;
  description: string;
  supportsStreaming: boolean;
  parametersJson: Buffer;
  /** JSON: the tool's schemas (see ToolSchemas); empty from a bridge before schemas. */
  schemaJson?: Buffer;
}

export interface WireDescribeReply {
  protocolVersion: number;
  adapter: string;
  tools: WireToolInfo[];
  pythonVersion: string;
}

export interface WireHostReply {
  outcome?: 'result' | 'error';
  result?: WireValue;
  error?: WireErrorInfo;
  found?: boolean;
}

export interface WirePingReply {
  pid: number;
  inFlight: number;
}

/** One frame of the host on the channel: a call, a stream, a credit, a cancel or a ping. */
export interface WireHostFrame {
  call: number;
  execute?: WireExecuteRequest;
  stream?: { request: WireExecuteRequest; credit: number };
  credit?: number;
  cancel?: boolean;
  ping?: boolean;
  reportStart?: boolean;
}

/** One frame of the worker on the channel: a reply, a stream chunk or a pong. */
export interface WireWorkerFrame {
  call: number;
  body?: 'reply' | 'chunk' | 'pong' | 'started';
  reply?: WireExecuteReply;
  chunk?: WireStreamChunk;
  pong?: WirePingReply;
  started?: boolean;
}

export type WorkerChannelCall = grpc.ClientDuplexStream<{ frames: WireHostFrame[] }, { frames: WireWorkerFrame[] }>;

type Unary<Req, Rep> = (
  request: Req,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, reply: Rep) => void,
) => grpc.ClientUnaryCall;

/** The generated-at-run-time client of the Worker service. */
export interface WorkerClient extends grpc.Client {
  Ping: Unary<Record<string, never>, WirePingReply>;
  Describe: Unary<Record<string, never>, WireDescribeReply>;
  Execute: Unary<WireExecuteRequest, WireExecuteReply>;
  ExecuteStream: (request: WireExecuteRequest, metadata?: grpc.Metadata, options?: grpc.CallOptions) => grpc.ClientReadableStream<WireStreamChunk>;
  Cancel: Unary<{ requestId: string }, { found: boolean }>;
  Channel: (metadata?: grpc.Metadata, options?: grpc.CallOptions) => WorkerChannelCall;
}

type WorkerClientConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => WorkerClient;

let bridgePackage: any;

/** proto/snakepit_bridge.proto, loaded once. */
function loadBridgePackage(): any {
  if (!bridgePackage) {
    const definition = protoLoader.loadSync(bridgePaths().protoFile, {
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    bridgePackage = (grpc.loadPackageDefinition(definition) as any).snakepit.bridge;
  }
  return bridgePackage;
}

function loadWorkerClientClass(): WorkerClientConstructor {
  return loadBridgePackage().Worker as WorkerClientConstructor;
}

/** The Host service, for the server that workers call back. */
export function hostServiceDefinition(): grpc.ServiceDefinition {
  return loadBridgePackage().Host.service;
}

/** A client for one worker's address, with the message limits set both ways. */
export function createWorkerClient(address: string, maxMessageBytes: number): WorkerClient {
  const Client = loadWorkerClientClass();
  return new Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // Each worker is its own server: never share connections across pools or apps.
    'grpc.use_local_subchannel_pool': 1,
    // The worker is on loopback: an http_proxy in the environment must not reroute it.
    'grpc.enable_http_proxy': 0,
  });
}
