import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { bridgePaths } from '../python/bridge-paths';
import type { CliConsole } from './console';

/** "SentimentScorer" → module "sentiment_scorer", class "SentimentScorerAdapter". */
export function adapterNames(name: string): { module: string; className: string } {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) throw new Error(`adapter name must be letters and digits, starting with a letter (got "${name}")`);
  const module = name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
  const base = name[0].toUpperCase() + name.slice(1);
  return { module, className: base.endsWith('Adapter') ? base : `${base}Adapter` };
}

const adapterSource = (className: string) => `"""${className}: tools for Snakepit. Run its tests with: python -m unittest"""
from typing import Any, Dict

from snakepit_bridge import BaseAdapter, tool


class ${className}(BaseAdapter):
    # Set to True once every tool is safe to run in several threads at once
    # (required by workerProfile: 'thread').
    thread_safe = False

    def on_start(self) -> None:
        """Runs once when the worker starts: load models, open files here."""

    @tool(description="Count the words of a text")
    def word_count(self, text: str) -> Dict[str, Any]:
        return {"words": len(text.split())}

    @tool(description="Greet someone, keeping a count in the session")
    def greet(self, name: str) -> str:
        context = self.session_context
        count = (context.get_state("greetings") or 0) + 1
        context.set_state("greetings", count)
        return f"Hello, {name} (greeting #{count})"
`;

const testSource = (module: string, className: string) => `import unittest

from ${module}.adapter import ${className}


class ${className}Test(unittest.TestCase):
    def test_word_count(self):
        self.assertEqual(${className}().word_count("one two three"), {"words": 3})

    def test_tools_are_declared(self):
        self.assertEqual(sorted(${className}.tool_index()), ["greet", "word_count"])


if __name__ == "__main__":
    unittest.main()
`;

export interface GenAdapterOptions {
  name: string;
  /** Where the package goes, from the current directory. */
  dir: string;
  force: boolean;
  /** pythonPath in the printed snippet is relative to it, as the library resolves it. */
  projectRoot: string;
}

/** Writes `<dir>/<module>/{__init__,adapter,test_adapter}.py` and prints how to use it. */
export function genAdapter(out: CliConsole, { name, dir: given, force, projectRoot }: GenAdapterOptions): void {
  const { module, className } = adapterNames(name);
  const dir = resolve(given);
  const packageDir = join(dir, module);
  const files: Record<string, string> = {
    '__init__.py': '',
    'adapter.py': adapterSource(className),
    'test_adapter.py': testSource(module, className),
  };
  const existing = Object.keys(files).filter((file) => existsSync(join(packageDir, file)));
  if (existing.length && !force) {
    out.fail(`${existing.map((file) => join(packageDir, file)).join(', ')} already exist(s)`, 'choose another name, or pass --force to overwrite');
    return;
  }
  mkdirSync(packageDir, { recursive: true });
  for (const [file, source] of Object.entries(files)) {
    writeFileSync(join(packageDir, file), source);
    out.info(`wrote ${relative(process.cwd(), join(packageDir, file))}`);
  }
  const pythonPath = relative(projectRoot, dir) || '.';
  out.info(`
Use it from Nest:

  SnakepitModule.forRoot({
    adapter: '${module}.adapter:${className}',
    pythonPath: ['${pythonPath}'],
  })

  const result = await pool.execute('word_count', { text: 'hello world' }); // { words: 2 }

Test it:   cd ${relative(process.cwd(), dir) || '.'} && PYTHONPATH=${bridgePaths().pythonDir}:. python -m unittest ${module}.test_adapter
Check it:  npx snakepit doctor --adapter ${module}.adapter:${className} --python-path ${pythonPath}`);
}
