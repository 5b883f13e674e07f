/**
 * The whole reliability suite: the fast files (which `npm test` runs too, through the root jest.config.js) and the
 * slow ones (*.slow.ts: real `pulumi up`/`destroy` under faults, 50 resources through the CLI), which only this
 * config picks up.  Run: npm run test:reliability   (build first: npm run build)
 */
const root = require("../../jest.config.js");

/** @type {import('jest').Config} */
module.exports = {
  ...root,
  rootDir: "../..",
  testMatch: ["<rootDir>/tests/reliability/**/*.test.ts", "<rootDir>/tests/reliability/**/*.slow.ts"],
  testTimeout: 600000,
};
