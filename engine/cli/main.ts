// mixscope command line: `npm run -s cli -- <command> [--model DIR] ...`.
// One line of JSON on stdout; on failure a one-line error on stderr and exit code 1 (2 for usage).
// A reader that stops early (`... | head -c 1`) ends the command quietly, with exit code 0.
import { parseCliArgs, UsageError, type CliArgs } from './args.ts';
import { COMMANDS, USAGE } from './commands.ts';
import { excerpt } from '../errors.ts';

/** An error line as the terminal shows it: one line, and short whatever the error carried. */
export const MAX_ERROR_LINE = 300;

function errorLine(text: string): string {
  const line = text.replace(/\s*\n\s*/g, ' ');
  return line.length <= MAX_ERROR_LINE ? line : `${line.slice(0, MAX_ERROR_LINE - 3)}...`;
}

const HINT = '(npm run -s cli -- --help for usage)';

async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    process.stderr.write(`${errorLine(`mixscope: ${(e as Error).message}`).slice(0, MAX_ERROR_LINE - HINT.length - 2)} ${HINT}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!args.command) {
    process.stderr.write(`mixscope: no command given: ${Object.keys(COMMANDS).join(', ')} ${HINT}\n`);
    return 2;
  }
  const run = COMMANDS[args.command];
  if (!run) {
    process.stderr.write(`mixscope: unknown command ${excerpt(args.command, 40)}: ${Object.keys(COMMANDS).join(', ')} ${HINT}\n`);
    return 2;
  }
  try {
    await run(args.values, (line) => process.stdout.write(line), (line) => process.stderr.write(line));
    return 0;
  } catch (e) {
    const err = e as Error;
    const message = err.message || String(e);
    const usage = e instanceof UsageError;
    // The hint goes at the end, where a line cut short would lose it: cut the message instead.
    const line = errorLine(`mixscope ${args.command}: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${message}`);
    process.stderr.write(`${usage ? `${line.slice(0, MAX_ERROR_LINE - HINT.length - 2)} ${HINT}` : line}\n`);
    return usage ? 2 : 1;
  }
}

// A closed pipe (the reader stopped: `| head`) is the end of the output, not an error: stop at
// once and quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
