/** The terminal spinner (ora), loaded only when something slow runs on a terminal. */
import ora from 'ora';
import type { Progress } from './output';

/** `marks`: the ✓ and ✗ of every other line, already coloured. */
export function startSpinner(text: string, color: boolean, marks: { ok: string; fail: string }): Progress {
  const spinner = ora({ text, stream: process.stderr, color: color ? 'cyan' : false, isEnabled: true, discardStdin: false }).start();
  return {
    update: (t) => {
      spinner.text = t;
    },
    succeed: (t) => {
      spinner.stopAndPersist({ symbol: marks.ok, text: t });
    },
    fail: (t) => {
      spinner.stopAndPersist({ symbol: marks.fail, text: t });
    },
    stop: () => {
      spinner.stop();
    },
  };
}
