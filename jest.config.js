// The native kernels' OpenMP threads spin while idle unless told otherwise, which on a busy
// 2-core machine makes training several times slower. lib/backend/native.ts asks for passive
// waiting through process.env, but jest hands each test file a copy of process.env that the
// OpenMP runtime never reads, so the policy is set here, in the real environment.
process.env.OMP_WAIT_POLICY ??= 'PASSIVE';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/spec'],
  testMatch: ['**/*.spec.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 120000,
};
