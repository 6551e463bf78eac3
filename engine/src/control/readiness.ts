/** Named readiness conditions (ARI connected, transports bound, providers ready); /ready is their conjunction. */
export class Readiness {
  private readonly checks = new Map<string, boolean>();
  private draining = false;

  /** Declares a condition, initially not met. */
  declare(name: string): void {
    if (!this.checks.has(name)) this.checks.set(name, false);
  }

  set(name: string, ok: boolean): void {
    this.checks.set(name, ok);
  }

  startDraining(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Names of the conditions not met; empty when ready. */
  waitingFor(): string[] {
    const waiting = [...this.checks].filter(([, ok]) => !ok).map(([name]) => name);
    return this.draining ? ['draining', ...waiting] : waiting;
  }
}
