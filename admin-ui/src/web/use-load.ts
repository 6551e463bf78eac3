// Loads one API resource for a page: its data, its error text, and a reload.
import { useCallback, useEffect, useState } from 'react';
import { api, problemText, ApiError } from './api.ts';

export interface Loaded<T> {
  data: T | undefined;
  error: string | null;
  status: number | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(path: string | null): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState<number | null>(null);
  const [loading, setLoading] = useState(true);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let current = true;
    setLoading(true);
    api<T>('GET', path).then(
      (body) => {
        if (!current) return;
        setData(body);
        setError(null);
        setStatus(200);
        setLoading(false);
      },
      (err: unknown) => {
        if (!current) return;
        setError(problemText(err));
        setStatus(err instanceof ApiError ? err.status : null);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [path, generation]);
  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { data, error, status, loading, reload };
}
