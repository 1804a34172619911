// `aerogrid init [DIR]`: the smallest app aerogrid builds and serves: an HTTP server on
// $PORT (8080, the App's default port) using only Python's standard library.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError, EXIT } from './errors.js';

export const SCAFFOLD: Record<string, string> = {
  'app.py': `"""A minimal aerogrid app: answers HTTP on $PORT (8080 by default)."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"hello": "from aerogrid", "path": self.path}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    ThreadingHTTPServer(("0.0.0.0", port), Handler).serve_forever()
`,
  'requirements.txt': `# One requirement per line, as pip reads it; the standard library needs none.
`,
  '.aerogridignore': `# Left out of the build context, in .gitignore syntax. Hidden files, __pycache__,
# *.pyc, node_modules and virtualenvs are always left out.
tests/
`,
};

/** Writes the scaffold; refuses to overwrite anything. Returns the files written. */
export function init(dir: string): string[] {
  const existing = Object.keys(SCAFFOLD).filter((f) => existsSync(join(dir, f)));
  if (existing.length > 0) {
    throw new CliError(`${dir}: ${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}; aerogrid init does not overwrite files`, EXIT.usage);
  }
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(SCAFFOLD)) writeFileSync(join(dir, file), content);
  return Object.keys(SCAFFOLD);
}
