export * from './render';
export * from './png';
export * from './scatter';
export * from './lossCurves';
export * from './sampleGrid';
export * from './clipStrip';
