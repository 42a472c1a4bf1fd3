import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface RunningChild {
  child: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  /** The first stdout line matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a TypeScript entry point of this repository in a Node process of its own; `wrapper`
 *  is a command that runs it (`['prlimit', '--nofile=256', '--']`). */
export function runTypeScript(entry: string, env: Record<string, string> = {}, wrapper: string[] = []): RunningChild {
  const [command, ...args] = [...wrapper, process.execPath, '-r', '@swc-node/register', join(ROOT, entry)];
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (chunk) => (text += chunk));
  child.stderr!.on('data', (chunk) => (text += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    output: () => text,
    exited,
    line(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${text}`)), timeoutMs);
        const check = () => {
          const found = text.split('\n').find((l) => pattern.test(l));
          if (found) {
            clearTimeout(timer);
            child.stdout!.off('data', check);
            resolve(found);
          }
        };
        child.stdout!.on('data', check);
        void exited.then(() => {
          check();
          clearTimeout(timer);
          reject(new Error(`exited before printing ${pattern}:\n${text}`));
        });
        check();
      });
    },
  };
}
