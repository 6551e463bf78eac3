// One line telling the operator what went wrong (or right), announced to screen readers.
import type { ReactNode } from 'react';

export function Notice(props: { kind: 'error' | 'info' | 'ok'; children: ReactNode; testId?: string }): ReactNode {
  return (
    <p className={`notice notice-${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'} data-testid={props.testId}>
      {props.children}
    </p>
  );
}
