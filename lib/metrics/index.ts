/**
 * Evaluation metrics: sample distances, k-NN manifold metrics, diversity, motion, linear algebra, the feature
 * classifier.
 */
export * from './points';
export * from './mixture';
export * from './linalg';
export * from './energy';
export * from './mmd';
export * from './sliced';
export * from './knn';
export * from './vendi';
export * from './diversity';
export * from './motion';
export * from './classifier';
export * from './evaluate';
