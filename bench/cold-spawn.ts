/** The cold-spawn baseline: `count` bare Python processes started at once, each importing
 *  numpy and sklearn.linear_model (what a pool's workers each import today with an ML adapter),
 *  then serving grpcio on a Unix socket in a private temp dir, timed until all print READY.
 *  `node -r @swc-node/register bench/cold-spawn.ts 16` prints one figure. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';
export const ML_IMPORTS = 'import numpy, sklearn.linear_model';

const script = (imports: string) => `
import sys
from concurrent import futures
import grpc
${imports}
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_insecure_port("unix:" + sys.argv[1])
server.start()
print("READY", flush=True)
sys.stdin.read()
`;

export interface ColdProcesses {
  /** From the first spawn until the last READY. */
  readyMs: number;
  pids: number[];
  stop(): Promise<void>;
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('READY')) resolve();
    });
    child.stderr!.on('data', (chunk) => (err += chunk));
    child.once('exit', (code) => reject(new Error(`cold-spawn process exited with ${code}: ${err.trim().split('\n').pop()}`)));
  });
}

/** Starts `count` processes at once (`imports` run in each before its server starts) and
 *  resolves once all are ready; `stop` SIGKILLs them and removes their socket dir. */
export async function startColdProcesses(count: number, imports = ML_IMPORTS): Promise<ColdProcesses> {
  const dir = mkdtempSync(join(tmpdir(), 'snakepit-cold-')); // mode 0700
  const source = script(imports);
  const t0 = process.hrtime.bigint();
  const children = Array.from({ length: count }, (_, i) => spawn(PYTHON, ['-c', source, join(dir, `${i}.sock`)], { stdio: 'pipe' }));
  const stop = async () => {
    await Promise.all(
      children.map((child) =>
        child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve).kill('SIGKILL')),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(children.map(ready));
  } catch (error) {
    await stop();
    throw error;
  }
  return { readyMs: Number(process.hrtime.bigint() - t0) / 1e6, pids: children.map((c) => c.pid!), stop };
}

/** Milliseconds for `count` processes spawned at once to all be ready; they are stopped after. */
export async function coldSpawnMs(count: number, imports = ML_IMPORTS): Promise<number> {
  const processes = await startColdProcesses(count, imports);
  await processes.stop();
  return processes.readyMs;
}

if (require.main === module) {
  const count = Number(process.argv[2] ?? 1);
  coldSpawnMs(count).then((ms) => console.log(`${count} processes with numpy + sklearn ready in ${ms.toFixed(0)} ms`));
}
