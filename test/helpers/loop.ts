/** Loop devices, for tests asserting that squashfs layer mounts leave none behind. */
import { readdir, readFile } from 'node:fs/promises';

/**
 * Loop devices whose backing file is below dir. A device is released a moment after its last
 * user goes (auto-clear runs from the kernel's release path), so this waits up to a second.
 */
export async function loopDevicesBelow(dir: string): Promise<string[]> {
  let found: string[] = [];
  for (let i = 0; i < 20; i++) {
    found = [];
    for (const name of (await readdir('/sys/block')).filter((n) => n.startsWith('loop'))) {
      const backing = await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8').catch(() => '');
      if (backing.startsWith(`${dir}/`)) found.push(`/dev/${name}: ${backing.trim()}`);
    }
    if (found.length === 0) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return found;
}
