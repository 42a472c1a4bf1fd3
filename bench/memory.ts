/** Process memory for the benchmarks. `node -r @swc-node/register bench/memory.ts <pid>...`
 *  prints each one's PSS. */
import { readFileSync } from 'node:fs';

/** Proportional set size of a process in bytes (its private pages plus its share of the pages
 *  it shares), from /proc/<pid>/smaps_rollup (Linux 4.14+). Reading another user's process
 *  needs the same rights as ptrace. */
export function pssBytes(pid: number): number {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const match = /^Pss:\s+(\d+) kB$/m.exec(rollup);
  if (!match) throw new Error(`no Pss line in /proc/${pid}/smaps_rollup`);
  return Number(match[1]) * 1024;
}

if (require.main === module) {
  for (const pid of process.argv.slice(2)) console.log(`${pid}\t${(pssBytes(Number(pid)) / 2 ** 20).toFixed(1)} MiB PSS`);
}
