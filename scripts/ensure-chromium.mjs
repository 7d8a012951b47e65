/**
 * `npm test` runs this first (the `pretest` script): the API docs page is tested in Debian's Chromium,
 * never a downloaded browser, so a fresh machine gets the `chromium` package from Debian's registry.
 * Only when it is missing, only as root (no sudo prompts in a test run); anyone else gets the command.
 * `CHROMIUM_PATH` points the test at another Chromium and skips the install.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);
if (process.env.CHROMIUM_PATH !== undefined) {
  console.error(`CHROMIUM_PATH=${path} does not exist.`);
  process.exit(1);
}
const install = 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium';
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
if (process.getuid?.() !== 0 || !hasApt) {
  console.error(`Debian's Chromium is needed for the docs page test and is not installed: run \`sudo sh -c '${install}'\` (or set CHROMIUM_PATH).`);
  process.exit(1);
}
console.log("Installing Debian's chromium package for the docs page test…");
const result = spawnSync('sh', ['-c', `${install} >/dev/null`], { stdio: 'inherit' });
if (result.status !== 0 || !existsSync(path)) {
  console.error(`Installing chromium failed (exit ${result.status ?? 'signal'}).`);
  process.exit(1);
}
