import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * Facts about other processes, from /proc on Linux and from `ps` elsewhere. Every function
 * answers `undefined` (or false, or nothing) for a process that is gone or not readable.
 */

const HAS_PROC = process.platform === 'linux';

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function ps(pid: number, field: string): string | undefined {
  try {
    const out = execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** When the process started, as an opaque token: equal tokens mean the same process, so a
 *  reused pid is told apart from the process recorded under it. */
export function processStartTime(pid: number): string | undefined {
  if (HAS_PROC) return statFields(pid)?.[19]; // field 22, starttime, in clock ticks since boot
  return ps(pid, 'lstart');
}

/** Alive and not a zombie. */
export function isRunning(pid: number): boolean {
  if (HAS_PROC) {
    const state = statFields(pid)?.[0];
    return state !== undefined && state !== 'Z';
  }
  try {
    process.kill(pid, 0);
    return ps(pid, 'stat')?.startsWith('Z') === false;
  } catch {
    return false;
  }
}

/** The process's arguments. */
export function processCommandLine(pid: number): string[] | undefined {
  if (HAS_PROC) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    } catch {
      return undefined;
    }
  }
  return ps(pid, 'command')?.split(/\s+/);
}

/** Whether the process's environment holds exactly `entry` ("NAME=value"). Linux only. */
export function environmentHas(pid: number, entry: string): boolean {
  if (!HAS_PROC) return false;
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** The same without blocking, for every entry of `entries`. Linux only. */
export async function environmentHasAll(pid: number, entries: string[]): Promise<boolean> {
  if (!HAS_PROC) return false;
  try {
    const environment = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    return entries.every((entry) => environment.includes(entry));
  } catch {
    return false;
  }
}

/** Every process id there is. Linux only (elsewhere: none, and callers rely on recorded pids). */
export function allPids(): number[] {
  if (!HAS_PROC) return [];
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);
}

/** The process's resident memory in bytes. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  if (HAS_PROC) {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const kib = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
      return kib === undefined ? undefined : Number(kib) * 1024;
    } catch {
      return undefined;
    }
  }
  const kib = ps(pid, 'rss');
  return kib === undefined ? undefined : Number(kib) * 1024;
}

/** What makes pids comparable: the same boot of the same machine, seen from the same pid
 *  namespace. A record made under another one says nothing about the pids here. */
export interface PidSpace {
  bootId?: string;
  pidNamespace?: string;
}

export function currentPidSpace(): PidSpace {
  if (!HAS_PROC) return {};
  const read = (what: () => string) => {
    try {
      return what().trim();
    } catch {
      return undefined;
    }
  };
  return {
    bootId: read(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    pidNamespace: read(() => readlinkSync('/proc/self/ns/pid')),
  };
}
