// The smallest app aerogrid builds and serves: an HTTP server on $PORT (8080, the App's default
// port) using only Python's standard library. `aerogrid init` writes it to a folder; the console's
// "new App" starts from it. Pure data, so the browser bundle can hold it too.

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
