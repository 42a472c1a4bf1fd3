import { delimiter } from 'node:path';
import { bridgePaths } from '../python/bridge-paths';
import type { BridgeSource } from '../python/python-runtime';
import { runCommand } from '../python/run-command';

/** What the interpreter says about itself, the bridge and (optionally) an adapter. */
export interface PythonFacts {
  executable: string;
  version: string;
  versionOk: boolean;
  /** Whether it runs in a virtual environment (else it is a system or global interpreter). */
  inVenv: boolean;
  grpc?: string;
  protobuf?: string;
  importErrors: Record<string, string>;
  bridge?: { protocol: number; version: string; file: string };
  adapter?: { tools: string[] } | { error: string; type: string };
}

/** Marks the probe's answer: an adapter may print while it is imported. */
const SENTINEL = '@@snakepit-probe@@';

const PROBE = `
import json, sys, importlib
facts = {"executable": sys.executable, "version": sys.version.split()[0], "versionOk": sys.version_info >= (3, 9),
         "inVenv": sys.prefix != getattr(sys, "base_prefix", sys.prefix), "importErrors": {}}
def attempt(key, fn):
    try:
        return fn()
    except BaseException as exc:
        facts["importErrors"][key] = f"{type(exc).__name__}: {exc}"
facts["grpc"] = attempt("grpc", lambda: importlib.import_module("grpc").__version__)
facts["protobuf"] = attempt("protobuf", lambda: importlib.import_module("google.protobuf").__version__)
def bridge():
    import snakepit_bridge
    from snakepit_bridge import _messages  # the generated stubs against the installed protobuf
    return {"protocol": snakepit_bridge.PROTOCOL_VERSION, "version": snakepit_bridge.__version__, "file": snakepit_bridge.__file__}
facts["bridge"] = attempt("snakepit_bridge", bridge)
spec = sys.argv[1] if len(sys.argv) > 1 else ""
if spec and facts["bridge"]:
    try:
        from snakepit_bridge._loader import load_adapter_class
        facts["adapter"] = {"tools": sorted(load_adapter_class(spec).tool_index())}
    except BaseException as exc:
        facts["adapter"] = {"error": str(exc), "type": type(exc).__name__}
print("${SENTINEL}" + json.dumps(facts))
`;

/** Runs the probe in `python`, with `pythonPath` importable, and the bridge: the bundled one, or
 *  (`installed`) the interpreter's own. */
export async function probePython(
  python: string,
  adapter?: string,
  pythonPath: string[] = [],
  bridge: BridgeSource = 'bundled',
): Promise<PythonFacts | { error: string }> {
  const bundled = bridge === 'bundled' ? [bridgePaths().pythonDir] : [];
  const env = { PYTHONPATH: [...bundled, ...pythonPath, process.env.PYTHONPATH].filter(Boolean).join(delimiter) };
  const result = await runCommand(python, ['-c', PROBE, adapter ?? ''], { timeoutMs: 60_000, env });
  if (result.spawnError) return { error: result.spawnError.message };
  if (result.code !== 0) return { error: result.stderr.trim().split('\n').slice(-3).join(' | ') || `exit code ${result.code}` };
  const answer = result.stdout.split('\n').find((line) => line.startsWith(SENTINEL));
  if (!answer) return { error: `no answer from the probe: ${result.stdout.slice(-200)}` };
  return JSON.parse(answer.slice(SENTINEL.length)) as PythonFacts;
}
