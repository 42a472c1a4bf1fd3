import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One entry of package-lock.json's `packages` (lockfile version 3). */
interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

const ROOT = join(__dirname, '..', '..');

/** The repository's own lock file: every package in it is in the local npm cache after `npm install`. */
function repositoryLock(): Record<string, LockEntry> {
  return JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')).packages;
}

/** Where Node would find `name` from the package installed at `from` (`node_modules/a/node_modules/b`). */
function resolveIn(packages: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate] && !packages[candidate].link) return candidate;
    if (!dir) return undefined;
  }
}

/**
 * A package.json and package-lock.json for an app outside the repository that depends on `wanted`
 * (at the versions this repository locks) and on a packed tarball. Its tree is the part of the
 * repository's tree those packages need, so `npm ci --offline` installs it from the local cache:
 * npm cannot resolve version ranges offline, as it keeps no package metadata for a lock-file
 * install, but it installs a lock file's exact entries from the cache by their integrity.
 */
export function offlineInstallFiles(
  app: { name: string; type?: 'module' | 'commonjs' },
  wanted: string[],
  tarball: { spec: string; manifest: LockEntry & { name: string } },
): { packageJson: object; packageLock: object } {
  const source = repositoryLock();
  const dependencies: Record<string, string> = {};
  const packages: Record<string, LockEntry> = {};
  const pending: string[] = [];
  const need = (from: string, name: string, optional: boolean) => {
    const path = resolveIn(source, from, name);
    if (!path) {
      if (optional) return;
      throw new Error(`${name} (needed by ${from || 'the app'}) is not in the repository's package-lock.json`);
    }
    pending.push(path);
  };
  for (const name of wanted) {
    const path = resolveIn(source, '', name);
    if (!path) throw new Error(`${name} is not in the repository's package-lock.json`);
    dependencies[name] = source[path].version!;
    pending.push(path);
  }
  const { name: tarballName, ...tarballEntry } = tarball.manifest;
  dependencies[tarballName] = tarball.spec;
  packages[`node_modules/${tarballName}`] = { ...tarballEntry, resolved: tarball.spec };
  const follow = (path: string, entry: LockEntry) => {
    for (const name of Object.keys(entry.dependencies ?? {})) need(path, name, false);
    for (const name of Object.keys(entry.optionalDependencies ?? {})) need(path, name, true);
    for (const name of Object.keys(entry.peerDependencies ?? {})) need(path, name, entry.peerDependenciesMeta?.[name]?.optional === true);
  };
  follow(`node_modules/${tarballName}`, tarballEntry);
  while (pending.length) {
    const path = pending.pop()!;
    if (packages[path]) continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = source[path];
    packages[path] = entry;
    follow(path, entry);
  }
  const root = { name: app.name, version: '1.0.0', private: true, ...(app.type ? { type: app.type } : {}), dependencies };
  return {
    packageJson: root,
    packageLock: { name: app.name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': root, ...packages } },
  };
}
