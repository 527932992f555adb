// mixscope command line: `npm run -s cli -- <command> [--model DIR] ...`.
// One line of JSON on stdout; on failure a one-line error on stderr and exit code 1 (2 for usage).
import { parseCliArgs, UsageError, type CliArgs } from './args.ts';
import { COMMANDS, USAGE } from './commands.ts';

async function main(argv: string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    process.stderr.write(`mixscope: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help || !args.command) {
    process.stdout.write(`${USAGE}\n`);
    return args.command || args.values.help ? 0 : 2;
  }
  const run = COMMANDS[args.command];
  if (!run) {
    process.stderr.write(`mixscope: unknown command "${args.command}"\n${USAGE}\n`);
    return 2;
  }
  try {
    await run(args.values, (line) => process.stdout.write(line), (line) => process.stderr.write(line));
    return 0;
  } catch (e) {
    const err = e as Error;
    const message = (err.message || String(e)).replace(/\s*\n\s*/g, ' ');
    process.stderr.write(`mixscope ${args.command}: ${err.name && err.name !== 'Error' ? `${err.name}: ` : ''}${message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
