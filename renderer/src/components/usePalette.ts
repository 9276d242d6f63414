import { useEffect, useState } from 'react';

/** Canvas needs real colours, not CSS variables: read the theme's stem colours (and follow light/dark changes). */
export function usePalette(): (name: string) => string {
  const [, setTick] = useState(0);
  useEffect(() => {
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const on = () => setTick((t) => t + 1);
    mq.addEventListener('change', on);
    return () => mq.removeEventListener('change', on);
  }, []);
  const cs = getComputedStyle(document.documentElement);
  return (name: string) => cs.getPropertyValue(name).trim() || '#888';
}
