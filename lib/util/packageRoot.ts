/**
 * The installed package's root directory (where package.json and native/ live). Modules
 * run from lib/ (sources, under tsx or jest) and from dist/lib/ (compiled), so a fixed
 * number of `..` would be right in one layout only: walk up to phased-dmd's package.json.
 */
import * as fs from 'fs';
import * as path from 'path';

let cached: string | undefined;

export const packageRoot = (): string => {
  if (cached !== undefined) return cached;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (
      fs.existsSync(manifest) &&
      (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'phased-dmd'
    ) {
      cached = dir;
      return dir;
    }
    if (path.dirname(dir) === dir) throw new Error(`phased-dmd: no package.json named phased-dmd above ${__dirname}`);
  }
};

/** phased-dmd's package.json version. */
export const packageVersion = (): string =>
  String(
    (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version ??
      'unknown',
  );
