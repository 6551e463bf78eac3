/** Decides whether a new call may start (concurrency limits, draining). */
export type AdmissionDecision = { admit: true; release: () => void } | { admit: false; reason: string; message: string };

export interface Admission {
  tryAdmit(context: string): AdmissionDecision;
}
