import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { useStore } from 'zustand';
import type { DemixApi } from '../../preload/contract.ts';
import type { DemixState, DemixStore } from './state/store.ts';

interface Ctx {
  api: DemixApi;
  store: DemixStore;
  appVersion: string;
  mock: boolean;
}

const AppContext = createContext<Ctx | null>(null);

export function AppProvider({ value, children }: { value: Ctx; children: ReactNode }) {
  return <AppContext.Provider value={value}>{children}</AppContext.Provider>;
}

export function useApp(): Ctx {
  const c = useContext(AppContext);
  if (!c) throw new Error('AppProvider missing');
  return c;
}

export function useApi(): DemixApi {
  return useApp().api;
}

export function useDemix<T>(selector: (s: DemixState) => T): T {
  return useStore(useApp().store, selector);
}

/** Re-renders every `ms` while `active` (for elapsed-time clocks; not a data poll). */
export function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [active, ms]);
  return now;
}
