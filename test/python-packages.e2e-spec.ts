import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidCallError, PackageIndexUnreachableError, PackageInstallError, PythonPackages } from '@snakepit/nestjs';
import { rejectionOf } from './support/app';
import { buildWheel } from './support/wheel';

const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';

describe('PythonPackages (a real venv, a local package directory, no network)', () => {
  let dir: string;
  let wheels: string;
  let packages: PythonPackages;
  const local = { installer: 'pip' as const, findLinks: [] as string[], noIndex: true };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'snakepit-packages-'));
    wheels = join(dir, 'wheels');
    mkdirSync(wheels);
    buildWheel(wheels, 'demo-pkg', '1.2.0');
    local.findLinks = [wheels];
    // It sees the system's packages (grpcio...) and installs into itself.
    execFileSync(PYTHON, ['-m', 'venv', '--system-site-packages', join(dir, 'venv')]);
    packages = new PythonPackages(join(dir, 'venv', 'bin', 'python'));
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells satisfied, missing and outdated requirements apart (PEP 440 specifiers and markers)', async () => {
    const grpcio = execFileSync(PYTHON, ['-c', 'import importlib.metadata as m; print(m.version("grpcio"))'], { encoding: 'utf8' }).trim();
    const check = await packages.checkInstalled(['grpcio>=1.0', 'grpcio>=999', 'demo-pkg~=1.0', "never-installed; python_version < '3'"]);
    expect(check).toEqual({
      satisfied: [
        { spec: 'grpcio>=1.0', name: 'grpcio', installed: grpcio },
        { spec: "never-installed; python_version < '3'", name: 'never-installed' },
      ],
      missing: [{ spec: 'demo-pkg~=1.0', name: 'demo-pkg' }],
      outdated: [{ spec: 'grpcio>=999', name: 'grpcio', installed: grpcio }],
    });
    expect(await rejectionOf(packages.checkInstalled(['not a requirement!!']))).toBeInstanceOf(InvalidCallError);
  });

  it('installs what is missing from a local directory, and nothing twice', async () => {
    const lines: string[] = [];
    const first = await packages.ensure(['demo-pkg>=1.0', 'grpcio'], { ...local, onOutput: (line) => lines.push(line) });
    expect(first.installed).toEqual([{ spec: 'demo-pkg>=1.0', name: 'demo-pkg', installed: '1.2.0' }]);
    expect(first.alreadySatisfied.map((s) => s.name)).toEqual(['grpcio']);
    expect(lines.join('\n')).toMatch(/demo[-_]pkg/i);
    const again = await packages.ensure(['demo-pkg>=1.0'], local);
    expect(again).toEqual({ installed: [], alreadySatisfied: [{ spec: 'demo-pkg>=1.0', name: 'demo-pkg', installed: '1.2.0' }] });
  });

  it('fails with typed errors: no such version, an unreachable index', async () => {
    const noVersion = await rejectionOf(packages.ensure(['demo-pkg>=2'], local));
    expect(noVersion).toBeInstanceOf(PackageInstallError);
    expect(noVersion.message).toMatch(/demo-pkg>=2.*exited with code/s);
    const unreachable = await rejectionOf(packages.ensure(['other-pkg'], { installer: 'pip', indexUrl: 'http://127.0.0.1:9/simple' }));
    expect(unreachable).toBeInstanceOf(PackageIndexUnreachableError);
    expect(unreachable.message).toMatch(/http:\/\/127\.0\.0\.1:9\/simple cannot be reached/);
  });
});
