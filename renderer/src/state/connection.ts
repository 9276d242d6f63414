/** Whether the web bridge's event stream is connected (the Electron host is always connected). */
import { createStore } from 'zustand/vanilla';

export const connection = createStore<{ connected: boolean }>()(() => ({ connected: true }));

export function setConnected(connected: boolean): void {
  connection.setState({ connected });
}
