// Module hook for running a checkout from src/ (bin/skitaid.js): resolves package exports with the
// `skitai-source` condition, which maps `skitai` to src/index.ts (package.json `exports`). The
// test runner passes the same condition with --conditions. Not shipped in the package.
export async function resolve(specifier, context, next) {
  return next(specifier, { ...context, conditions: [...context.conditions, 'skitai-source'] });
}
