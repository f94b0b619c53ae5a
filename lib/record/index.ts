/**
 * Record and replay: `record(sink)` taps any typed stream into an
 * NDJSON recording (format in ./events), `replay(file)` turns it back into a source of
 * the same typed events, `summariseRecording` gives a run's report data without
 * retraining.
 * (`verifyRecording`, which re-executes a run, is in lib/train.)
 */
export * from './events';
export * from './hash';
export * from './tensors';
export * from './reader';
export * from './writer';
export * from './record';
export * from './replay';
export * from './summary';
export * from './report';
