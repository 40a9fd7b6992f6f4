// The cache-hit analysis report: model, advice, renderers (JSON, Markdown, HTML) and the files `--report` writes.
export { describeReason, shownPath, valueText } from './describe-reason.js';
export { buildReport } from './model.js';
export { checkedReport } from './check-report.js';
export type { Report, ReportAttestation, ReportBuild, ReportInput, ReportReason, ReportStep, ReportTotals } from './model.js';
export { adviseBuild } from './advice.js';
export type { Advice } from './advice.js';
export { renderJson } from './render-json.js';
export { renderMarkdown } from './render-markdown.js';
export { renderHtml } from './render-html.js';
export { loadReport, readBuildRecord, readDockerfileText, type HistorySource } from './load-report.js';
export { formatOfFile, renderReport, stepSummaryPath, writeReportFiles, writeReports, writeStepSummary } from './write-reports.js';
export type { ReportFormat, ReportSource } from './write-reports.js';
export { renderTerminalSummary } from './render-terminal.js';
export { redactReason, redactRecord, textRedactor } from './redact.js';
