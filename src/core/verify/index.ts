/**
 * Verification of a WebDataset dataset: every check of issue 6 (coverage,
 * readability, sample structure, images, labels and label diversity, counts, pixel
 * statistics, train vs val incl. leakage, copy vs copy), a diagnosis in plain words
 * ranked by impact, and the report as versioned JSON plus a human summary.
 *
 * Runs in-process (`verifyDataset`) or in its own process (`startVerificationProcess`,
 * role `verifier`), decoding on worker threads. It reads shards only; it knows nothing
 * of Electron, the renderer, or where the caller keeps reports.
 */
export { verifyDataset, planVerification, VerifyInputError } from './verify-dataset'
export type { VerifyProgressUpdate, VerifyRunOptions } from './verify-dataset'
export { startVerificationProcess, VerificationFailed } from './run-child'
export { writeReport, summarizeReport } from './report'
