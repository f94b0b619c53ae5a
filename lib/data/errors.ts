/**
 * A missing or malformed data file, or a data config that cannot be opened. The message names the file or field and
 * what was expected.
 */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}
