/** Decides whether a new call may start (concurrency limits, draining). */
export type AdmissionDecision = { admit: true; release: () => void } | { admit: false; reason: string; message: string };

/** Answers at once in the process that counts; engine processes 2…N ask process 1, which counts for all. */
export interface Admission {
  tryAdmit(context: string): AdmissionDecision | Promise<AdmissionDecision>;
}
