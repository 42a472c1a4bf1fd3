import { execFileSync } from 'node:child_process';

const PYTHON = process.env.SNAKEPIT_PYTHON || 'python3';

/** Writes a minimal pure-Python wheel of `name` at `version` into `dir` (a local package index). */
export function buildWheel(dir: string, name: string, version: string): string {
  const script = `
import sys, zipfile, os
d, name, version = sys.argv[1:4]
module = name.replace("-", "_")
dist = f"{module}-{version}"
path = os.path.join(d, f"{dist}-py3-none-any.whl")
files = {
    f"{module}/__init__.py": f"VERSION = {version!r}\\n",
    f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",
    f"{dist}.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: snakepit-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
files[f"{dist}.dist-info/RECORD"] = "".join(f"{f},,\\n" for f in files) + f"{dist}.dist-info/RECORD,,\\n"
with zipfile.ZipFile(path, "w") as z:
    for f, text in files.items():
        z.writestr(f, text)
print(path)
`;
  return execFileSync(PYTHON, ['-c', script, dir, name, version], { encoding: 'utf8' }).trim();
}
