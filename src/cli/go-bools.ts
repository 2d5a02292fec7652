/**
 * Bool flags that also take a value, as Go's pflag has them: `--sig-proxy`, `--sig-proxy=false`,
 * `-p=0`. pflag takes a bool flag's value only after "="; a bare flag is true and the next word
 * stays an argument. commander's optional-value options (berth declares these flags as
 * `[bool]`) would take the next word instead: `berth commit -p CTR IMG` made CTR the flag's
 * value. So before commander parses, each such flag is rewritten to `--long=true|false`, and a
 * value strconv.ParseBool refuses is reported the way pflag reports it.
 */
import type { Command, Option } from 'commander';
import { goParseBool } from '../core/go-parse.js';

export class InvalidGoBool extends Error {
  constructor(
    /** As docker names it: "-p, --pause". */
    readonly flags: string,
    readonly value: string,
  ) {
    super(`invalid argument "${value}" for "${flags}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`);
    this.name = 'InvalidGoBool';
  }
}

/**
 * argv with every `[bool]` flag of the command it belongs to spelled `--long=true` or
 * `--long=false`. The walk follows commander's reading: it descends into subcommands, skips
 * the values of flags that take one, and stops at `--` and, for commands whose last argument
 * is variadic (run, create, exec), at the first argument: what follows is the container's
 * command line, never berth's flags.
 */
export function normalizeGoBools(program: Command, argv: readonly string[]): string[] {
  const out = [...argv];
  let command = program;
  for (let i = 0; i < out.length; i++) {
    const word = out[i] ?? '';
    if (word === '--') break;
    if (word.startsWith('-') && word !== '-') {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      const option = command.options.find((o: Option) => o.long === name || o.short === name);
      if (!option) continue;
      if (option.optional) {
        const value = eq < 0 ? 'true' : word.slice(eq + 1);
        const parsed = goParseBool(value);
        if (parsed === undefined) throw new InvalidGoBool(option.flags.replace(/\s*\[bool\]$/, ''), value);
        out[i] = `${option.long ?? name}=${String(parsed)}`;
      } else if (option.required && eq < 0) {
        i++;
      }
      continue;
    }
    const sub = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) {
      command = sub;
      continue;
    }
    if (command.registeredArguments.at(-1)?.variadic) break;
  }
  return out;
}
