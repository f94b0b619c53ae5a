/**
 * The sampling web page (web/, bundled by `npm run build` into dist/web/): index.html,
 * the page's script with tfjs inside, and tfjs's wasm binaries. A site is a directory
 * with these files, a student export in student/ and, optionally, a teacher in teacher/.
 */
import * as fs from 'fs';
import * as path from 'path';
import { packageRoot } from '../util/packageRoot';
import { writeFileAtomic } from '../util/atomicWrite';

/** Where the built page lives. */
export const pageDir = (): string => path.join(packageRoot(), 'dist', 'web');

/** The page's files, by name; a clear error when the page was never built. */
export const pageFiles = (): string[] => {
  const dir = pageDir();
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.(html|js|wasm)$/.test(f)) : [];
  if (!files.includes('index.html')) {
    throw new Error(
      `the web page is not built (${path.join(dir, 'index.html')} is missing): ` +
        'run `npm run build` in the phased-dmd checkout',
    );
  }
  return files;
};

/** Copies the page into `site` (created if needed); returns the files written. */
export const writePage = (site: string): string[] =>
  pageFiles().map((f) => {
    const to = path.join(site, f);
    writeFileAtomic(to, fs.readFileSync(path.join(pageDir(), f)));
    return to;
  });

/** Subdirectory of a site that holds a model of this kind. */
export const siteModelDir = (site: string, kind: 'teacher' | 'student'): string => path.join(site, kind);
