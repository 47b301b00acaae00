// A spinner with elapsed time on stderr while a query runs; only when stderr is a terminal.
const FRAMES = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';

export interface Spinner {
  /** Shown after the elapsed time, e.g. the rows received so far. */
  note(text: string): void;
  stop(): void;
}

export function startSpinner(label: string, enabled = process.stderr.isTTY === true, delayMs = 300): Spinner {
  if (!enabled) return { note: () => {}, stop: () => {} };
  const started = Date.now();
  let frame = 0;
  let note = '';
  let shown = false;
  const draw = () => {
    shown = true;
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    process.stderr.write(`\r\x1b[K${FRAMES[frame++ % FRAMES.length]} ${label} ${secs} s${note ? ` (${note})` : ''}`);
  };
  let timer: NodeJS.Timeout | undefined;
  const delay = setTimeout(() => {
    draw();
    timer = setInterval(draw, 100);
  }, delayMs);
  return {
    note: (text) => {
      note = text;
    },
    stop: () => {
      clearTimeout(delay);
      if (timer) clearInterval(timer);
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
