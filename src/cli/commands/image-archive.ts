/**
 * save, load, import, commit.
 *
 *   save    GET  /images/get?names=…                         → the tar, to -o FILE or stdout
 *   load    POST /images/load?quiet=0|1    (tar body)        → JSON messages
 *   import  POST /images/create?fromSrc=-&repo=&tag=&message=&changes=…  (tar body)
 *   commit  POST /commit?container=&repo=&tag=&comment=&author=&pause=&changes=…
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CliError } from '../errors.js';
import { api, println } from '../io.js';
import { displayJSONMessages, JSONMessageError } from '../jsonmessage.js';
import { fullName, parseNormalizedNamed, ReferenceError, tagNameOnly } from '../reference.js';

/** `REPO[:TAG]` → the repo and tag query parameters. */
function repoTag(ref: string | undefined): { repo?: string; tag?: string } {
  if (!ref) return {};
  try {
    const named = tagNameOnly(parseNormalizedNamed(ref));
    if (named.digest !== undefined) throw new CliError('refusing to create a tag with a digest reference', 1);
    return { repo: fullName(named), ...(named.tag ? { tag: named.tag } : {}) };
  } catch (e) {
    if (e instanceof ReferenceError) throw new CliError(e.message, 1);
    throw e;
  }
}

async function render(res: AsyncIterable<Buffer | string>): Promise<void> {
  try {
    await displayJSONMessages(res, (s) => void process.stdout.write(s), Boolean(process.stdout.isTTY), () => process.stdout.columns || 200);
  } catch (e) {
    if (e instanceof JSONMessageError) throw new CliError(e.message, 1);
    throw e;
  }
}

export async function saveCmd(images: string[], opts: { output?: string }): Promise<number> {
  if (!opts.output && process.stdout.isTTY) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  const res = await api().request({ method: 'GET', path: '/images/get', query: { names: images } });
  if (!opts.output) {
    await pipeline(res, process.stdout);
    return 0;
  }
  // Written next to the target and renamed: a failed save leaves no half-written file.
  const tmp = join(dirname(opts.output), `.${basename(opts.output)}.${process.pid}.tmp`);
  try {
    await pipeline(res, createWriteStream(tmp, { mode: 0o644 }));
    if (!res.complete) throw new CliError('failed to save: the daemon ended the archive early', 1);
    await rename(tmp, opts.output);
  } catch (e) {
    await rm(tmp, { force: true });
    if (e instanceof CliError) throw e;
    throw new CliError(`failed to save image: ${e instanceof Error ? e.message : String(e)}`, 1);
  }
  return 0;
}

export async function loadCmd(opts: { input?: string; quiet?: boolean }): Promise<number> {
  if (!opts.input && process.stdin.isTTY) throw new CliError('requested load from stdin, but stdin is empty', 1);
  const body = opts.input ? createReadStream(opts.input) : process.stdin;
  const quiet = opts.quiet || !process.stdout.isTTY;
  const res = await api().upload({ method: 'POST', path: '/images/load', query: { quiet: quiet ? '1' : '0' } }, body, 'application/x-tar');
  await render(res);
  return 0;
}

export async function importCmd(file: string, ref: string | undefined, opts: { change?: string[]; message?: string; platform?: string }): Promise<number> {
  const target = repoTag(ref);
  const body = file === '-' ? process.stdin : createReadStream(file);
  const res = await api().upload(
    {
      method: 'POST',
      path: '/images/create',
      query: { fromSrc: '-', ...target, message: opts.message, changes: opts.change ?? [], platform: opts.platform },
    },
    body,
    'application/x-tar',
  );
  await render(res);
  return 0;
}

export async function commitCmd(container: string, ref: string | undefined, opts: { author?: string; change?: string[]; message?: string; pause?: string | boolean }): Promise<number> {
  const target = repoTag(ref);
  // "true" or "false" when given (see go-bools.ts).
  const pause = opts.pause !== 'false';
  const { Id } = await api().json<{ Id: string }>({
    method: 'POST',
    path: '/commit',
    query: { container, ...target, comment: opts.message, author: opts.author, pause: pause ? '1' : '0', changes: opts.change ?? [] },
  });
  println(Id);
  return 0;
}
