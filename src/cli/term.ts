// The terminal: colour and a spinner only where a person is looking (a TTY), never in a pipe
// or a log, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb.
import type { WriteStream } from 'node:tty';

export function colourful(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return !!stream.isTTY && !('NO_COLOR' in env && env.NO_COLOR !== '') && env.TERM !== 'dumb';
}

const SGR = { red: 31, green: 32, yellow: 33, bold: 1, dim: 2 } as const;

export type Paint = Record<keyof typeof SGR, (s: string) => string>;

export function paint(on: boolean): Paint {
  return Object.fromEntries(Object.entries(SGR).map(([k, code]) => [k, (s: string) => (on ? `\u001b[${code}m${s}\u001b[0m` : s)])) as Paint;
}

/** A one-line spinner on a TTY (stderr), erased before any other line is printed. A no-op elsewhere. */
export class Spinner {
  private timer?: NodeJS.Timeout;
  private frame = 0;
  private text = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly on = colourful(process.stderr)) {}

  start(text: string): void {
    this.text = text;
    if (!this.on || this.timer) return;
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
    this.draw();
  }

  /** Erases the spinner's line; it comes back on the next tick while running. */
  clear(): void {
    if (this.on && this.timer) (this.stream as WriteStream).clearLine?.(0), (this.stream as WriteStream).cursorTo?.(0);
  }

  stop(): void {
    this.clear();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private draw(): void {
    const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    this.clear();
    this.stream.write(`${frames[this.frame++ % frames.length]} ${this.text}`);
  }
}
