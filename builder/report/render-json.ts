import type { Report } from './model.js';

/** The report as pretty-printed JSON (the model is already plain data, `schemaVersion` first). */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
