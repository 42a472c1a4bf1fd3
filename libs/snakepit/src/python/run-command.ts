import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when the program could not be started at all (ENOENT...). */
  spawnError?: Error;
}

/** Runs a program to its end (or SIGKILL after `timeoutMs`), collecting its output. */
export function runCommand(
  command: string,
  args: string[],
  options: { timeoutMs: number; env?: Record<string, string>; onLine?: (line: string) => void },
): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const collect = (append: (text: string) => void) => (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      append(text);
      if (options.onLine) for (const line of text.split('\n')) if (line.trim()) options.onLine(line);
    };
    child.stdout.on('data', collect((text) => (stdout += text)));
    child.stderr.on('data', collect((text) => (stderr += text)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (spawnError) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr, timedOut, spawnError });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** Whether a program is on PATH. */
export async function onPath(command: string): Promise<boolean> {
  const result = await runCommand(command, ['--version'], { timeoutMs: 10_000 });
  return result.code === 0;
}
